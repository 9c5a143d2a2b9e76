"""`check --engine smt|both`: bounded model checking from the command line,
and the cross-check of the two engines' verdicts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from checker.results import EnginesSummary, Lemmas, PropertyResult, SmtSummary, print_json
from checker.verdict import Verdict
from checker.views import report
from checker.views.render import Style, print_lines, use_color
from specs import properties_of
from specs.property import LIVENESS

if TYPE_CHECKING:
    from checker.smt.expr import BoolExpr


class EngineUsageError(ValueError):
    """An option the symbolic engine cannot honour (a usage error, exit 2)."""


def check_smt_args(args: argparse.Namespace) -> None:
    """Options that make no sense for BMC are refused before any work."""
    if args.depth == 0:
        raise EngineUsageError(f"--engine {args.engine} needs a depth bound: --depth 1 or more")
    if getattr(args, "steps", "fine") != "fine":
        raise EngineUsageError(f"--engine {args.engine} checks fine steps only (not --steps macro)")
    if args.graph:
        raise EngineUsageError("--graph is for the explicit engine")
    if not 0 <= args.solver_timeout <= 86_400:  # NaN and inf fail this too
        raise EngineUsageError(
            f"--solver-timeout must be 0 (none) to 86400 seconds (got {args.solver_timeout})"
        )


def safety_only(props: list) -> list:
    """The properties BMC decides; a liveness property asked for by name is refused."""
    live = [p.id for p in props if p.kind == LIVENESS]
    if live and len(live) == len(props):
        raise EngineUsageError(f"the smt engine checks safety properties, not {', '.join(live)}")
    return [p for p in props if p.kind != LIVENESS]


def run_smt(
    args: argparse.Namespace, model, props: list, out_dir: Path, progress: bool
) -> SmtSummary:
    from checker.progress import Phases, mark
    from checker.smt.bmc import run_bmc
    from checker.smt.summary import summarize_bmc

    with Phases(progress) as phases:
        timeout_s = args.solver_timeout or None
        lemmas: BoolExpr = True  # the proved invariants, one formula
        proof = None
        if args.lemmas:
            from checker.smt.induction import proof_invariants, prove

            with phases.phase("lemmas proof (k-induction)") as ph:
                try:
                    proof = prove(
                        model,
                        proof_invariants(model),
                        k=1,
                        timeout_s=timeout_s,
                        progress=lambda done, total: ph.update(
                            done, total, info="queries of the round"
                        ),
                    )
                except KeyboardInterrupt:
                    print(
                        "interrupted during the --lemmas proof (before its first round): "
                        "no invariant proved, BMC not run",
                        file=sys.stderr,
                    )
                    raise
            if proof.interrupted:
                # Nothing was proved; BMC is not started on a stopped run.
                print(
                    f"interrupted during the --lemmas proof ({proof.unknown}, after "
                    f"{proof.elapsed_s:.1f} s): no invariant proved, BMC not run",
                    file=sys.stderr,
                )
                raise KeyboardInterrupt
            phases.note(
                f"lemmas: {len(proof.proved)} invariants proved by k-induction in "
                f"{proof.elapsed_s:.1f} s"
            )
            lemmas = proof.lemmas
        with phases.phase("bmc", total=args.depth + 1, unit="") as ph:

            def show(d: int, secs: float) -> None:
                ph.update(d + 1, info=f"depth {d} in {secs:.2f} s")
                mark(f"bmc: depth {d} decided")

            try:
                res = run_bmc(
                    model, props, args.depth, timeout_s=timeout_s, progress=show, lemmas=lemmas
                )
            except KeyboardInterrupt:
                print(
                    "interrupted before BMC decided depth 0 (while it built the transition "
                    "relation): no property decided",
                    file=sys.stderr,
                )
                raise
    all_props = [p for p in properties_of(model) if p.default]
    summary = summarize_bmc(model, props, res, out_dir=out_dir, all_props=all_props)
    if proof is not None:
        summary.lemmas = Lemmas(proof.proved, proof.unknown, round(proof.elapsed_s, 3))
    return summary


def cmd_check_engine(args: argparse.Namespace, model, props: list, explicit) -> int:
    """--engine smt: BMC alone. --engine both: the explicit run (`explicit()`,
    returning its summary) and BMC, and exit 7 if their verdicts differ."""
    from checker.smt.summary import render_bmc

    check_smt_args(args)
    safety = safety_only(props)
    if args.engine == "smt":
        summary = run_smt(args, model, safety, Path(args.out), not args.quiet)
        if args.json:
            print_json(summary)
        else:
            print_lines(render_bmc(summary, Style(use_color(sys.stdout))))
        return summary.exit_code
    ex_summary = explicit()
    if ex_summary is None:  # a cluster that failed, said on stderr
        return report.EXIT_INCONCLUSIVE
    smt_summary = run_smt(args, model, safety, Path(args.out) / "smt", not args.quiet)
    diffs = disagreements(ex_summary.properties, smt_summary.properties, ex_summary.search.depth)
    if args.json:
        print_json(EnginesSummary(ex_summary, smt_summary, diffs))
    else:
        print_lines(render_bmc(smt_summary, Style(use_color(sys.stdout))))
        if not diffs:
            print("\nthe engines agree: same verdicts, same shortest violation depths")
    for d in diffs:
        print(f"engines disagree: {d}", file=sys.stderr)
    if diffs:
        return report.EXIT_DISAGREE
    return ex_summary.exit_code


def disagreements(
    explicit: list[PropertyResult], smt: list[PropertyResult], bound: int
) -> list[str]:
    """Each safety property whose verdict or shortest violation depth differs
    between the engines' runs to the depth `bound`. A property either engine
    could not decide is not compared."""
    theirs = {p.id: p for p in smt}
    out = []
    for p in explicit:
        q = theirs.get(p.id)
        if q is None or p.kind == LIVENESS:
            continue
        if {p.verdict, q.verdict} - {Verdict.PASS, Verdict.FAIL}:
            continue  # not checked, or not decided, by one of them
        a = (p.verdict, p.depth)
        b = (q.verdict, q.depth)
        if a != b:
            out.append(f"{p.id}: explicit {_say(*a)}, smt {_say(*b)} (depth bound {bound})")
    return out


def _say(verdict: Verdict, depth: int | None) -> str:
    return f"fails at depth {depth}" if verdict == Verdict.FAIL else "holds"
