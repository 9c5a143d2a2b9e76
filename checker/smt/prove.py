"""`python -m checker prove`: k-induction of the safety invariants
(checker/smt/induction.py), with each counterexample to induction written
as an ITF trace the viewer shows like any other."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checker.results import InvariantResult, ProofSummary, print_json
from checker.smt.induction import (
    DEFINED,
    TARGETS,
    TYPES,
    Cti,
    ProofResult,
    proof_invariants,
    prove,
)
from checker.verdict import Verdict
from checker.views import report
from checker.views.itf import VERSION, trace_document, write_trace
from checker.views.render import Style, print_lines, render_trace, use_color


def cmd_prove(args: argparse.Namespace, model) -> int:
    _check_arguments(args)
    invs = proof_invariants(model)
    from checker.progress import Phases

    with Phases(not args.quiet) as phases, phases.phase("k-induction") as ph:
        res = prove(
            model,
            invs,
            k=args.k,
            timeout_s=args.solver_timeout or None,
            progress=lambda done, total: ph.update(done, total, info="queries of the round"),
        )
    out_dir = Path(args.out)
    docs: dict[str, dict] = {}
    entries = [
        _invariant_result(model, res, c, out_dir, docs)
        for c in [*TARGETS, *[p.id for p in invs if p.id not in TARGETS], TYPES, DEFINED]
    ]
    code = _exit_code([e for e in entries if e.target])
    summary = ProofSummary(
        version=VERSION,
        model=model.describe(),
        model_hash=model.model_hash(),
        k=res.k,
        rounds=res.rounds,
        elapsed_s=round(res.elapsed_s, 3),
        per_round_s=[round(t, 3) for t in res.per_round_s],
        invariants=entries,
        exit_code=code,
        traces=docs,
    )
    if args.json:
        print_json(summary)
    else:
        print_lines(render_proof(summary, Style(use_color(sys.stdout))))
    return code


def _check_arguments(args: argparse.Namespace) -> None:
    """What prove refuses before it starts (a usage error, exit 2)."""
    from checker.smt.cli import EngineUsageError

    if getattr(args, "steps", "fine") != "fine":
        raise EngineUsageError("prove checks fine steps only (not --steps macro)")
    if not 0 <= args.solver_timeout <= 86_400:  # NaN and inf fail this too
        raise EngineUsageError(
            f"--solver-timeout must be 0 to 86400 seconds (got {args.solver_timeout})"
        )


def _invariant_result(
    model, res: ProofResult, c: str, out_dir: Path, docs: dict[str, dict]
) -> InvariantResult:
    """What the proof established of invariant `c`. A counterexample to
    induction is written as a trace under `out_dir` (and kept in `docs`),
    or, when its states have no readable view, kept as their bytes."""
    v = res.verdict(c)
    e = InvariantResult(c, c in TARGETS, v)
    if v == Verdict.FAIL:
        e.reason = res.base_failed[c]
    elif v == Verdict.PROVED:
        e.k = res.k
    elif v == Verdict.NOT_PROVED:
        cti = res.not_proved[c]
        try:
            doc = _cti_document(model, c, cti)
        except (IndexError, KeyError, ValueError):
            # A state outside the field types has no readable view.
            e.broken, e.trace = cti.broken, None
            e.states = [st.state.hex() for st in cti.steps]
            return e
        path = out_dir / f"cti-{report.trace_name(model, c)}"
        write_trace(path, doc)
        docs[c] = doc
        e.broken, e.trace = cti.broken, str(path)
    else:
        e.reason = res.unknown or "not reached"
    return e


def _cti_document(model, c: str, cti: Cti) -> dict:
    """A counterexample to induction of `c` as a trace document."""
    return trace_document(
        model,
        cti.steps,
        {
            "engine": "smt-induction",
            "property": c,
            "kind": "counterexample-to-induction",
            "message": f"{', '.join(cti.broken)} broken after {cti.k} step(s) from "
            "a state satisfying every candidate invariant",
            "depth": len(cti.steps) - 1,
            "seed": None,
            "workload": model.describe().get("workload"),
            "mutation": model.describe().get("mutation") or None,
        },
    )


def _exit_code(targets: list[InvariantResult]) -> int:
    """A target invariant that fails is a safety violation; one not proved
    leaves the run inconclusive."""
    if any(e.verdict == Verdict.FAIL for e in targets):
        return report.EXIT_SAFETY
    if all(e.verdict == Verdict.PROVED for e in targets):
        return report.EXIT_OK
    return report.EXIT_INCONCLUSIVE


def render_proof(summary: ProofSummary, style: Style) -> list[str]:
    m = summary.model
    out = [style.bold(f"gmpcheck {summary.version} — k-induction (k = {summary.k})")]
    out.append(
        f"model     workload {m.get('workload')}, cores {m.get('cores')}, "
        f"max Ms {m.get('max_ms')}, ring {m.get('ring')}, period {m.get('period')}"
        + (f", mutation {m['mutation']}" if m.get("mutation") else "")
    )
    out.append(f"time      {summary.elapsed_s:.1f} s, {summary.rounds} round(s)")
    out.append("")
    width = max(len(e.id) for e in summary.invariants) + 2
    for e in summary.invariants:
        v = e.verdict
        role = "" if e.target else style.dim("  (auxiliary)")
        if v == Verdict.PROVED:
            line = style.green(Verdict.PROVED.label) + f"  for every reachable state (k = {e.k})"
        elif v == Verdict.FAIL:
            line = style.red(Verdict.FAIL.label) + f"  {e.reason}"
        elif v == Verdict.NOT_PROVED:
            line = (
                style.yellow(Verdict.NOT_PROVED.label)
                + f"  counterexample to induction breaks {', '.join(e.broken or ())}"
                + (f" -> {e.trace}" if e.trace else " (a state outside the field types)")
            )
        else:
            line = style.yellow(Verdict.UNKNOWN.label) + f"  ({e.reason})"
        out.append(f"  {e.id:<{width}}{line}{role}")
    shown: set[int] = set()
    for e in summary.invariants:
        doc = summary.traces.get(e.id)
        if doc is not None and e.target and id(doc) not in shown:
            shown.add(id(doc))
            out.append("")
            out += render_trace(doc, style=style, compact=True)
    return out
