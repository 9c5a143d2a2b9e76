"""The summary of a check run as the terminal shows it (checker/views/report.py
builds the summary itself)."""

from __future__ import annotations

from checker.results import CheckSummary
from checker.verdict import Verdict
from checker.views.render import Style, render_trace
from checker.views.report import (
    EXIT_INCONCLUSIVE,
    EXIT_LIVENESS,
    EXIT_OK,
    EXIT_SAFETY,
    PROFILE_TEXT,
    STOP_TEXT,
)
from specs.property import LIVENESS

# The verdicts the result line counts, in its order.
COUNTED = (
    Verdict.FAIL,
    Verdict.PASS,
    Verdict.INCONCLUSIVE,
    Verdict.UNKNOWN,
    Verdict.NOT_APPLICABLE,
)


def result_line(summary: CheckSummary, style: Style) -> str:
    """The summary's last line: the verdicts counted, and the exit code with
    why, so that a bounded run's INCONCLUSIVE is not taken for a failure nor
    the exit code for a proof."""
    verdicts = [p.verdict for p in summary.properties]
    counts = ", ".join(f"{verdicts.count(v)} {v.label}" for v in COUNTED if v in verdicts)
    code = summary.exit_code
    strict = summary.search.strict
    if code == EXIT_OK and Verdict.INCONCLUSIVE in verdicts:
        why = "nothing violated; INCONCLUSIVE is what this bound allows (--strict: exit 4)"
    elif code == EXIT_OK:
        why = "nothing violated"
    elif code in (EXIT_SAFETY, EXIT_LIVENESS):
        why = "a property is violated"
    elif code == EXIT_INCONCLUSIVE and strict and Verdict.UNKNOWN not in verdicts:
        why = "--strict: an INCONCLUSIVE verdict fails the run"
    elif code == EXIT_INCONCLUSIVE and Verdict.UNKNOWN not in verdicts:
        why = "asked for every state (--depth 0), a model bound cut the search"
    else:
        why = "the run stopped before it finished"
    text = f"result    {counts}: exit {code}, {why}"
    return style.green(text) if code == EXIT_OK else style.yellow(text)


def render_summary(summary: CheckSummary, style: Style) -> list[str]:
    """The summary as the terminal shows it: the model, the search, the
    verdicts, the result line, then each counterexample."""
    out = _model_lines(summary, style) + _search_lines(summary, style)
    out += _time_lines(summary, style) + [""] + _property_lines(summary, style)
    out.append(result_line(summary, style))
    for p in summary.properties:
        if p.verdict == Verdict.FAIL:
            out.append("")
            out += render_trace(summary.traces[p.id], style=style, compact=True)
    return out


def _model_lines(summary: CheckSummary, style: Style) -> list[str]:
    m = summary.model
    out = [style.bold(f"gmpcheck {summary.version} — {summary.engine} engine")]
    go = PROFILE_TEXT.get(m.get("profile", ""), "Go 1.25")
    model_line = (
        f"model     {go} GMP scheduler, workload {m.get('workload')}, cores {m.get('cores')}, "
        f"max Ms {m.get('max_ms')}, ring {m.get('ring')}, period {m.get('period')}, "
        f"async preemption {'on' if m.get('async_preempt') else 'off'}"
    )
    if "cores" not in m:
        model_line = "model     " + ", ".join(f"{k} {v}" for k, v in m.items())
    out.append(model_line)
    if m.get("mutation"):
        out.append(f"mutation  {m['mutation']}")
    plugin = summary.plugin
    if plugin:
        out.append(
            f"plug-in   {plugin['name']} ({plugin['file']}:{plugin['object']}, sha256 "
            f"{plugin['sha256'][:12]})"
            + (f", workload {plugin['workload']}" if plugin.get("workload") else "")
        )
        for note in summary.plugin_notes or ():
            out.append(style.yellow(f"note      {note}"))
    return out


def _search_lines(summary: CheckSummary, style: Style) -> list[str]:
    m, r, s = summary.model, summary.result, summary.search
    out: list[str] = []
    depth = "unbounded" if s.depth == 0 else str(s.depth)
    sym = "on" if s.symmetry else "off"
    out.append(f"search    depth {depth}, symmetry {sym}, workers {s.workers}")
    if s.kernel_note:
        out.append(f"kernel    {s.kernel_note}")
    out += _checkpoint_lines(summary.checkpoint, style)
    out.append(
        f"states    {r.states:,} distinct, {r.transitions:,} transitions, "
        f"depth reached {r.depth_reached} ({STOP_TEXT.get(r.stopped, r.stopped)})"
    )
    if r.truncated_states:
        hit = r.bounds_hit or {}
        names = {
            "threads": f"the thread bound (--max-ms {m.get('max_ms')}) at startm",
            "goroutine slots": "the goroutine slots at newproc",
        }
        which = ", ".join(f"{names.get(k, k)} {v:,} times" for k, v in hit.items())
        out.append(
            style.yellow(
                f"bounds    {r.truncated_states:,} states had a step cut off by the "
                "model's bounds" + (f": {which}" if which else " (--max-ms, the goroutine slots)")
            )
        )
    return out


def _checkpoint_lines(cp: dict | None, style: Style) -> list[str]:
    """Where the searches resumed, and what the checkpoint directory holds now."""
    if not cp:
        return []

    def held(what: dict) -> str:
        if what.get("error"):
            return f"not written ({what['error']})"
        at = "complete" if what.get("complete") else f"at depth {what.get('depth')}"
        return f"{at}, {what.get('states') or 0:,} states"

    out = []
    for name, what in cp.get("resumed", {}).items():
        out.append(f"resumed   the {name} search from {cp['directory']}: {held(what)}")
    saved = cp.get("saved", {})
    if saved:
        parts = "; ".join(f"{name} search {held(what)}" for name, what in saved.items())
        open_ = any(not w.get("complete") and not w.get("error") for w in saved.values())
        more = f"; continue with --resume {cp['directory']}" if open_ else ""
        line = f"checkpoint {cp['directory']}: {parts}{more}"
        bad = any(w.get("error") for w in saved.values())
        out.append(style.yellow(line) if bad else line)
    return out


def _time_lines(summary: CheckSummary, style: Style) -> list[str]:
    r = summary.result
    out: list[str] = []
    lg = r.liveness_graph
    if lg:
        again = " (a second search, without symmetry)" if lg.get("elapsed_s") is not None else ""
        out.append(
            f"liveness  graph of {lg['states']:,} states and {lg['edges']:,} edges, "
            f"{lg['expanded']:,} expanded{again}"
        )
    more = ""
    if lg:
        if lg.get("elapsed_s") is not None:
            more += f"; liveness search {lg['elapsed_s']:.1f} s"
        more += f"; liveness analysis {lg['analysis_s']:.1f} s"
    if r.total_s is not None:
        first = "safety search" if lg and lg.get("elapsed_s") is not None else "search"
        out.append(
            f"time      {r.total_s:.1f} s in all: {first} {r.elapsed_s:.1f} s "
            f"({r.states_per_s:,} states/s){more}"
        )
    else:
        out.append(f"time      {r.elapsed_s:.1f} s, {r.states_per_s:,} states/s{more}")
    if r.stop_reason:
        out.append(style.yellow(f"stopped   {r.stop_reason}"))
        out.append(
            style.yellow(
                "          what was established is below; for a smaller run: --max-states N, "
                "a lower --depth or fewer --cores, fewer --workers"
            )
        )
    if r.liveness_stopped:
        out.append(
            style.yellow(
                "stopped   the liveness pass was interrupted; the safety verdicts above it stand"
            )
        )
    mem = r.memory
    if mem:
        parts = []
        if "visited_bytes_per_state" in mem:
            parts.append(f"visited set {mem['visited_bytes_per_state']:.0f} bytes/state")
        if "graph_bytes_per_state" in mem:
            parts.append(f"liveness graph {mem['graph_bytes_per_state']:.0f} bytes/state")
        parts.append(f"peak {mem['peak_rss_mb']:,.0f} MB")
        out.append("memory    " + ", ".join(parts))
        if "fingerprint_collision_probability" in mem:
            out.append(
                "          64-bit fingerprints: the chance that two states were merged is "
                f"{mem['fingerprint_collision_probability']:.1e} (--exact to rule it out)"
            )
    return out


def _property_lines(summary: CheckSummary, style: Style) -> list[str]:
    r = summary.result
    out: list[str] = []
    width = max(len(p.id) for p in summary.properties) + 2
    for p in summary.properties:
        v = p.verdict
        if v == Verdict.PASS:
            tag = style.green(Verdict.PASS.label)
            note = f"  (up to depth {r.depth_reached})" if p.bounded else ""
            if p.kind == LIVENESS:
                note = "  (every reachable state explored)"
        elif v == Verdict.FAIL:
            tag = style.red(Verdict.FAIL.label)
            note = f"  at depth {p.depth}"
            if p.trace:
                note += f"  -> {p.trace}"
            elif p.write_error:
                note += f"  (not written: {p.write_error})"
        elif v == Verdict.NOT_CHECKED:
            tag = style.dim(Verdict.NOT_CHECKED.label)
            note = ""
        elif v == Verdict.INCONCLUSIVE:
            tag = style.yellow(Verdict.INCONCLUSIVE.label)
            note = f"  ({p.reason or ''})"
        elif v == Verdict.NOT_APPLICABLE:
            tag = style.dim(Verdict.NOT_APPLICABLE.label)
            note = f"  ({p.reason or ''})"
        else:
            tag = style.yellow(Verdict.UNKNOWN.label)
            note = f"  ({p.reason or 'the search did not finish'})"
        out.append(f"  {p.id:<{width}}{tag}{note}")
        if p.fairness and v in (Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE):
            out.append(style.dim(f"  {'':<{width}}fairness: {', '.join(p.fairness)}"))
    return out
