"""The summary of a bounded model checking run, in the shape of the explicit
engine's (checker/views/report.py): same schema, same verdict names, same
counterexample files and exit codes; the `result` block says what the
solver did instead of how many states were stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.results import PropertyResult, SmtFigures, SmtSummary
from checker.smt.bmc import BmcResult
from checker.verdict import Verdict
from checker.views.itf import VERSION
from checker.views.render import Style, render_trace
from checker.views.report import (
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_SAFETY,
    not_checked,
    safety_counterexample,
)
from specs.property import Property

STOP_TEXT = {
    "depth": "every property decided up to the depth",
    "all-failed": "stopped: every checked property has a counterexample",
    "unknown": "stopped: the solver gave no answer",
    "interrupted": "interrupted, partial",
}


def summarize_bmc(
    model: Any,
    props: list[Property],
    res: BmcResult,
    *,
    out_dir: Path | None,
    all_props: list[Property] | None = None,
) -> SmtSummary:
    results = []
    traces: dict[str, dict] = {}
    for p in props:
        entry = PropertyResult(p.id, p.kind, p.statement)
        f = res.findings[p.id]
        if f.verdict == Verdict.FAIL:
            safety_counterexample(model, p, f.steps, f.message, "smt", out_dir, entry, traces)
        elif f.verdict == Verdict.UNKNOWN:
            interrupted = res.stopped == "interrupted"
            entry.verdict = Verdict.INCONCLUSIVE
            entry.reason = f.reason if interrupted else f"solver: {f.reason}"
        else:
            entry.verdict, entry.bounded = Verdict.PASS, True
        results.append(entry)
    results += not_checked(props, all_props)
    verdicts = {r.verdict for r in results}
    if Verdict.FAIL in verdicts:
        code = EXIT_SAFETY
    elif Verdict.INCONCLUSIVE in verdicts or res.stopped == "interrupted":
        code = EXIT_INCONCLUSIVE
    else:
        code = EXIT_OK
    return SmtSummary(
        version=VERSION,
        model=model.describe(),
        model_hash=model.model_hash(),
        depth=res.depth,
        solver_timeout_s=res.timeout_s,
        result=SmtFigures(
            depth_reached=res.depth_reached,
            stopped=res.stopped,
            commands=res.commands,
            build_s=round(res.build_s, 3),
            elapsed_s=round(res.elapsed_s, 3),
            per_depth_s=[round(t, 3) for t in res.per_depth_s],
        ),
        properties=results,
        exit_code=code,
        traces=traces,
    )


def render_bmc(summary: SmtSummary, style: Style) -> list[str]:
    m, r = summary.model, summary.result
    out = [style.bold(f"gmpcheck {summary.version} — smt engine (bounded model checking)")]
    out.append(
        f"model     Go 1.25 GMP scheduler, workload {m.get('workload')}, cores {m.get('cores')}, "
        f"max Ms {m.get('max_ms')}, ring {m.get('ring')}, period {m.get('period')}, "
        f"async preemption {'on' if m.get('async_preempt') else 'off'}"
    )
    if m.get("mutation"):
        out.append(f"mutation  {m['mutation']}")
    timeout = summary.solver_timeout_s
    out.append(
        f"search    depth {summary.depth}, solver timeout "
        + (f"{timeout:g} s per query" if timeout else "none")
    )
    out.append(
        f"relation  {r.commands:,} guarded commands from the model's steps, "
        f"built in {r.build_s:.1f} s"
    )
    out.append(
        f"solver    depth reached {r.depth_reached} "
        f"({STOP_TEXT.get(r.stopped, r.stopped)}), {r.elapsed_s:.1f} s"
    )
    out.append("")
    width = max(len(p.id) for p in summary.properties) + 2
    for p in summary.properties:
        v = p.verdict
        if v == Verdict.PASS:
            tag, note = style.green(Verdict.PASS.label), f"  (up to depth {r.depth_reached})"
        elif v == Verdict.FAIL:
            tag, note = style.red(Verdict.FAIL.label), f"  at depth {p.depth}"
            if p.trace:
                note += f"  -> {p.trace}"
        elif v == Verdict.INCONCLUSIVE:
            tag, note = style.yellow(Verdict.INCONCLUSIVE.label), f"  ({p.reason or ''})"
        else:
            tag, note = style.dim(Verdict.NOT_CHECKED.label), ""
        out.append(f"  {p.id:<{width}}{tag}{note}")
    for p in summary.properties:
        if p.verdict == Verdict.FAIL:
            out.append("")
            out += render_trace(summary.traces[p.id], style=style, compact=True)
    return out
