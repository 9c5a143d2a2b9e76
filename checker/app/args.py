"""The command line's arguments shared by every subcommand and by the
`python -m` entry points: the parser that reports one line, the number and
size arguments, the model's arguments and the configuration they make."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import NoReturn

from checker.errors import UsageError
from checker.plugin import load_plugin
from model.config import (
    DEFAULT_PROFILE,
    GO_SCHEDTICK_PERIOD,
    GO_STEAL_TRIES,
    PROFILES,
    Config,
)
from model.workloads import DEFAULT_WORKLOAD
from specs import properties_of

# The exit codes of check, prove and gate (their help's epilog).
EXIT_CODES = """exit codes:
  0   no checked property is violated and the run did what it was asked: a
      verdict its bounds leave open (liveness at a --depth bound) is printed
      as INCONCLUSIVE with its reason and does not fail the run (as TLC and
      Apalache treat a bounded run that finds no error); --strict makes it 4
  1   a safety property is violated (a counterexample is written under --out)
  2   usage or input error (one line on stderr)
  3   a liveness property is violated
  4   the run stopped before it did what it was asked, and prints what it
      established: --max-states, Ctrl-C, SIGTERM or SIGHUP, a worker process
      that died, out of memory, a model bound with --depth 0; smt: the solver
      gave no answer; prove: a target invariant not proved; with --strict,
      also any INCONCLUSIVE verdict
  5   replay divergence
  6   manifest mismatch (gate)
  7   the explicit and smt engines disagree (--engine both)
  70  internal error (a bug in gmpcheck)"""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        raise UsageError(message)


def add_command(sub, name: str, help: str, exit_codes: str) -> argparse.ArgumentParser:
    """A subcommand's parser; its --help ends with the exit codes it can give."""
    return sub.add_parser(
        name, help=help, epilog=exit_codes, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def _int(name: str, lo: int, hi: int | None = None):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a whole number, not {text!r}"
            ) from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"{name} must be at least {lo} (got {v})")
        if hi is not None and v > hi:
            raise argparse.ArgumentTypeError(f"{name} must be at most {hi} (got {v})")
        return v

    return parse


def _add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the model")
    g.add_argument("--cores", type=_int("--cores", 1), default=4, help="GOMAXPROCS: Ps (4)")
    g.add_argument("--workload", default=None, help="the goroutines' programs (mixed)")
    g.add_argument("--mutation", default="", help="a registered mutation (see `list`)")
    g.add_argument("--model", default="", metavar="FILE:NAME", help="a plug-in variant")
    g.add_argument("--max-ms", type=_int("--max-ms", 1), default=0, help="Ms (cores + 2)")
    g.add_argument("--ring", type=_int("--ring", 1), default=2, help="local run queue size (2)")
    g.add_argument(
        "--period",
        type=_int("--period", 1),
        default=GO_SCHEDTICK_PERIOD,
        help="schedtick period of the global-queue check (61)",
    )
    g.add_argument(
        "--steal-tries", type=_int("--steal-tries", 1), default=GO_STEAL_TRIES, help="(4)"
    )
    g.add_argument("--no-async-preempt", action="store_true", help="GODEBUG=asyncpreemptoff=1")
    g.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help="scheduler version: go1.25 (_Psyscall) or go1.26 (no _Psyscall) (go1.25)",
    )


def _number(flag: str, unit: str, lo: float, hi: float, lo_open: bool = False):
    """An argument type: a number of `unit` from lo to hi (above lo if
    lo_open); NaN, infinities and anything else are refused in one line."""

    def show(x: float) -> str:
        return f"{x:g}".replace("e+0", "e").replace("e+", "e")  # 1e6, not 1e+06

    bound = f"{show(lo)} {'<' if lo_open else '<='} {unit} <= {show(hi)}"

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = float("nan")
        if not (lo < v if lo_open else lo <= v) or not v <= hi:  # NaN fails this too
            raise argparse.ArgumentTypeError(
                f"{flag} must be a number of {unit}, {bound} ({text!r})"
            )
        return v

    return parse


_max_size = _number("--max-size", "MB", 0, 1e6, lo_open=True)


def _add_max_size(p: argparse.ArgumentParser) -> None:
    from checker.schemas import MAX_INPUT_MB

    p.add_argument(
        "--max-size",
        type=_max_size,
        default=MAX_INPUT_MB,
        metavar="MB",
        help=f"the largest input file read, in megabytes ({MAX_INPUT_MB}); a larger one is "
        "refused with exit 2",
    )


def parse_fairness(text: str) -> tuple[str, ...]:
    from specs.liveness import FAIRNESS

    names = tuple(x.strip() for x in text.split(",") if x.strip())
    for n in names:
        if n not in FAIRNESS:
            raise UsageError(f"unknown fairness assumption {n!r} (known: {', '.join(FAIRNESS)})")
    return names


def config_from_args(args: argparse.Namespace, **extra) -> tuple[Config, dict]:
    plugin = load_plugin(args.model) if args.model else None
    cfg = Config(
        cores=args.cores,
        max_ms=args.max_ms,
        ring=args.ring,
        period=args.period,
        steal_tries=args.steal_tries,
        async_preempt=not args.no_async_preempt,
        workload=args.workload or DEFAULT_WORKLOAD,
        mutation=args.mutation,
        steps=getattr(args, "steps", "fine"),
        profile=getattr(args, "profile", DEFAULT_PROFILE),
    )
    kw: dict = {}
    if plugin is not None:
        if args.mutation:
            raise UsageError("--model and --mutation cannot be used together")
        if plugin.workload is not None:
            if args.workload:
                raise UsageError(
                    f"--model {args.model} brings its own workload ({plugin.workload.name}): "
                    "--workload cannot be given with it"
                )
            cfg = replace(cfg, workload=plugin.workload.name)
        if plugin.config:
            try:
                cfg = replace(cfg, **plugin.config)
            except TypeError as e:
                raise UsageError(f"--model {args.model}: its configuration: {e}") from None
        kw = {
            "model_class": plugin.model_class,
            "workload": plugin.workload,
            "plugin": plugin.describe(),
        }
    return cfg, kw


def make_model(args: argparse.Namespace, symmetry: bool = True):
    from model.factory import build_model

    cfg, kw = config_from_args(args)
    if "model_class" not in kw:
        return build_model(cfg, symmetry=symmetry, **kw)
    from checker.plugin import PluginError
    from model.config import ConfigError

    try:
        return build_model(cfg, symmetry=symmetry, **kw)
    except ConfigError:
        raise
    except Exception as e:  # the plug-in's own code raised as its model was made
        raise PluginError(
            f"--model {args.model}: making the model raised {type(e).__name__}: {e}"
        ) from None


def select_properties(model, wanted: list[str]):
    props = properties_of(model)
    if not wanted:
        return [p for p in props if p.default]
    ids = [p.id for p in props]
    out = []
    for w in wanted:
        for one in w.split(","):
            one = one.strip()
            if one not in ids:
                raise UsageError(f"unknown property {one!r} (known: {', '.join(ids)})")
            out.append(next(p for p in props if p.id == one))
    return out
