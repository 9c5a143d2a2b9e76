"""`python -m checker.waitbound DEPTH...`: the global-queue wait bound by the
explicit search (checker/engine/waitbound.py), printed per depth."""

from __future__ import annotations

import contextlib
import sys

from checker.app.args import Parser, _int
from checker.engine.waitbound import explicit_global_wait, unbounded_global_wait
from checker.errors import UsageError
from checker.views.report import EXIT_OK, EXIT_USAGE
from model.config import Config, ConfigError
from model.factory import build_model


def main(argv: list[str] | None = None) -> int:
    """`python -m checker.waitbound DEPTH...`: the bound by the explicit
    search on GOMAXPROCS=1, workload yield-pair, with findRunnable's
    schedtick check and without it (the no-schedtick-check mutation), at
    each depth and over runs of every length; the figures docs/smt.md
    checks z3's against. Exit 0, or 2 on bad input (one line on stderr)."""
    ap = Parser(prog="python -m checker.waitbound")
    ap.add_argument("depths", nargs="+", type=_int("DEPTH", 1), metavar="DEPTH")
    ap.add_argument("--period", type=_int("--period", 1), default=2, help="schedtick period")
    try:
        args = ap.parse_args(argv)
        models = {
            mutation or "go1.25": build_model(
                Config(cores=1, workload="yield-pair", period=args.period, mutation=mutation),
                symmetry=False,
            )
            for mutation in ("", "no-schedtick-check")
        }
    except (UsageError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    with contextlib.suppress(BrokenPipeError):  # the reader stopped early (| head)
        _show(models, args.depths)
    return EXIT_OK


def _show(models: dict, depths: list[int]) -> None:
    for who, model in models.items():
        for depth in depths:
            ex = explicit_global_wait(model, 0, depth)
            print(
                f"global-queue wait {who} depth {depth}: at most {ex.executes} executes "
                f"while G0 waits ({ex.states} states, {ex.elapsed_s:.2f} s)"
            )
        every = unbounded_global_wait(model, 0)
        most = "no bound" if every.executes is None else f"at most {every.executes} executes"
        print(
            f"global-queue wait {who} any length: {most} "
            f"({every.states} reachable states, {every.elapsed_s:.2f} s)"
        )
