"""The summary of a check run: verdicts, counts, counterexample files.

`summarize` turns an exploration into a `CheckSummary` (checker/results:
the `--json` output, schema "gmpcheck.summary/1", documented in README.md)
and writes one ITF file per counterexample; checker/views/summary_text.py
prints it for people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker.engine.explore import (
    STOP_ALL_FAILED,
    STOP_DEPTH,
    STOP_EXHAUSTED,
    STOP_INTERRUPTED,
    STOP_MAX_STATES,
    Exploration,
)
from checker.engine.liveness import LivenessVerdict
from checker.engine.trace import rebuild
from checker.results import (
    CheckSummary,
    ExplicitFigures,
    PropertyResult,
    SearchSettings,
)
from checker.verdict import Verdict
from checker.views.itf import VERSION, trace_document, write_trace
from specs.property import ACTION, LIVENESS, Property

PROFILE_TEXT = {"go1.25": "Go 1.25", "go1.26": "Go 1.26 (no _Psyscall)"}

EXIT_OK = 0
EXIT_SAFETY = 1
EXIT_USAGE = 2
EXIT_LIVENESS = 3
EXIT_INCONCLUSIVE = 4
EXIT_REPLAY = 5
EXIT_MANIFEST = 6
EXIT_DISAGREE = 7
EXIT_INTERNAL = 70

STOP_TEXT = {
    STOP_DEPTH: "stopped at the depth bound",
    STOP_EXHAUSTED: "every reachable state explored",
    STOP_MAX_STATES: "stopped at --max-states, partial",
    STOP_INTERRUPTED: "interrupted, partial",
    STOP_ALL_FAILED: "stopped: every checked property has a counterexample",
}


def established(ex: Exploration) -> tuple[int, int]:
    """What a search that stopped early still established: (n, d), every one
    of the n states within d steps of an initial state was checked, and
    every step from those within d - 1 steps (d = -1: not even the initial
    states). Breadth-first numbering puts the states of depth < d first."""
    if ex.stopped not in (STOP_INTERRUPTED, STOP_MAX_STATES, STOP_ALL_FAILED):
        return len(ex.states), ex.depth_reached
    d = ex.depth_reached  # the level being expanded when the search stopped
    if d == 0:
        return 0, -1
    return ex.level_start[d], d - 1


def established_text(n: int, d: int) -> str:
    if d < 0:
        return "no state checked"
    return f"no violation in {n:,} states, complete to depth {d}"


_NAME_DEFAULTS = {
    "profile": ("go1.25", "{}"),
    "steps": ("fine", "{}"),
    "max_ms": (None, "m{}"),  # None: cores + 2
    "ring": (2, "r{}"),
    "period": (61, "p{}"),
    "steal_tries": (4, "t{}"),
    "async_preempt": (True, "noasync"),
}


def trace_name(model: Any, prop: str, engine: str = "explicit", depth: int | None = None) -> str:
    """The file name of a counterexample: the property, the workload, the
    cores and the mutation, then every setting that differs from Go's
    defaults (go1.26, macro, m8, r4, p2, t2, noasync), the engine when it is
    not the explicit one, and for a lasso of a bounded search the depth bound,
    so that runs of different configurations never write the same file.
    Runs of the same configuration write the same content."""
    cfg = model.describe()
    parts = [prop, cfg.get("workload", "model")]
    if "cores" in cfg:
        parts.append(f"c{cfg['cores']}")
    if cfg.get("mutation"):
        parts.append(cfg["mutation"])
    for key, (default, fmt) in _NAME_DEFAULTS.items():
        if key not in cfg:
            continue
        v = cfg[key]
        if key == "max_ms":
            default = cfg.get("cores", 0) + 2
        if v != default:
            parts.append(fmt.format(v))
    if engine not in ("explicit", ""):
        parts.append(engine)
    if depth:  # a lasso of a bounded search (an unbounded one, d0, is the usual case)
        parts.append(f"d{depth}")
    return "-".join(_safe(str(p)) for p in parts) + ".itf.json"


def _safe(part: str) -> str:
    """A name part with nothing but letters, digits, '.', '_' and '-' (a
    plug-in's names go into file names)."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", part).lstrip(".")[:80] or "_"


def write_counterexample(out_dir: Path, name: str, doc: dict, entry: PropertyResult) -> None:
    """Write a counterexample and name it in its summary entry; a file that
    cannot be written is named with the reason (the verdict stands)."""
    path = out_dir / name
    try:
        write_trace(path, doc)
    except OSError as e:
        entry.write_error = f"{path}: {e.strerror or e}"
        return
    entry.trace = str(path)


def summarize(
    model: Any,
    props: list[Property],
    ex: Exploration,
    *,
    depth: int,
    workers: int,
    symmetry: bool,
    out_dir: Path | None,
    engine: str = "explicit",
    all_props: list[Property] | None = None,
    liveness: dict[str, LivenessVerdict] | None = None,
    live_ex: Exploration | None = None,
    interrupted: bool = False,
    strict: bool = False,
    stop_reason: str = "",
) -> CheckSummary:
    """`live_ex`: the liveness search, when it is another search than `ex`;
    `interrupted`: the liveness pass was cut (the safety verdicts of a
    finished `ex` stand); `strict`: an INCONCLUSIVE verdict makes exit 4."""
    stopped_early = ex.stopped in (STOP_INTERRUPTED, STOP_MAX_STATES) or interrupted
    live_stop = live_ex.stopped if live_ex is not None else ex.stopped
    if live_ex is None and stopped_early:
        live_stop = "not-reached"
    traces: dict[str, dict] = {}
    results = []
    for p in props:
        entry = PropertyResult(p.id, p.kind, p.statement)
        if p.kind == LIVENESS:
            lv = (liveness or {}).get(p.id)
            _liveness_entry(model, p, lv, live_stop, entry, traces, out_dir, engine, depth)
        else:
            _safety_entry(model, p, ex, entry, traces, out_dir, engine)
        results.append(entry)
    results += not_checked(props, all_props)
    truncated = ex.truncated_states or (live_ex is not None and live_ex.truncated_states)
    code = exit_code(results, stopped_early, bool(depth == 0 and truncated), strict)
    return CheckSummary(
        version=VERSION,
        engine=engine,
        model=model.describe(),
        model_hash=model.model_hash(),
        search=SearchSettings(depth=depth, symmetry=symmetry, workers=workers, strict=strict),
        result=_figures(model, ex, interrupted, stop_reason),
        properties=results,
        exit_code=code,
        plugin=getattr(model, "plugin", None) or None,
        traces=traces,
    )


def _safety_entry(
    model: Any,
    p: Property,
    ex: Exploration,
    entry: PropertyResult,
    traces: dict,
    out_dir: Path | None,
    engine: str,
) -> None:
    """A safety property's verdict: its counterexample, what a stopped search
    established, or a pass."""
    v = ex.violations.get(p.id)
    if v is not None:
        steps = rebuild(model, ex, v, p)
        last = steps[-1].state
        if p.kind == ACTION:
            message = p.reason(model, steps[-2].state, steps[-1].label, last) or v.message
        elif p.check is not None:
            message = p.reason(model, last) or v.message
        else:
            message = v.message
        safety_counterexample(model, p, steps, message, engine, out_dir, entry, traces)
    elif ex.stopped in (STOP_INTERRUPTED, STOP_MAX_STATES) or (
        ex.stopped == STOP_ALL_FAILED and not ex.complete
    ):
        n, d = established(ex)
        entry.verdict = Verdict.UNKNOWN
        entry.checked_states, entry.complete_depth = n, d
        entry.reason = f"{established_text(n, d)}; {STOP_TEXT[ex.stopped].split(',')[0]}"
    else:
        entry.verdict, entry.bounded = Verdict.PASS, not ex.complete


def not_checked(props: list[Property], all_props: list[Property] | None) -> list[PropertyResult]:
    """The properties of `all_props` not among those checked, as not checked."""
    checked = {p.id for p in props}
    return [
        PropertyResult(p.id, p.kind, p.statement, Verdict.NOT_CHECKED)
        for p in all_props or []
        if p.id not in checked
    ]


def exit_code(
    results: list[PropertyResult], stopped_early: bool, model_bound_cut: bool, strict: bool
) -> int:
    """A safety failure 1, a liveness failure 3; exit 4 when the run stopped
    before what it was asked to do, when a model bound cut a search asked for
    every state (`model_bound_cut`), or, with --strict, on an INCONCLUSIVE."""
    verdicts = [r.verdict for r in results]
    failed = [r for r in results if r.verdict == Verdict.FAIL]
    if any(r.kind != LIVENESS for r in failed):
        return EXIT_SAFETY
    if failed:
        return EXIT_LIVENESS
    if stopped_early or Verdict.UNKNOWN in verdicts or model_bound_cut:
        return EXIT_INCONCLUSIVE
    if strict and Verdict.INCONCLUSIVE in verdicts:
        return EXIT_INCONCLUSIVE  # --strict: a verdict the bound left open fails the run
    # Every verdict this bound allows was reached and nothing is violated;
    # an INCONCLUSIVE verdict stays in the summary with its reason.
    return EXIT_OK


def _figures(model: Any, ex: Exploration, interrupted: bool, stop_reason: str) -> ExplicitFigures:
    elapsed = max(ex.elapsed, 1e-9)
    return ExplicitFigures(
        states=len(ex.states),
        transitions=ex.transitions,
        depth_reached=ex.depth_reached,
        stopped=ex.stopped,
        liveness_stopped="interrupted" if interrupted else None,
        stop_reason=ex.stop_reason or stop_reason or None,
        complete=ex.complete,
        truncated_states=ex.truncated_states,
        bounds_hit=bounds_hit(model, ex),
        elapsed_s=round(ex.elapsed, 3),
        states_per_s=round(len(ex.states) / elapsed),
    )


def bounds_hit(model: Any, ex: Exploration) -> dict[str, int]:
    """Which bound cut steps off, and how often (a state and an actor each):
    "threads" (the M bound, --max-ms: startm found no thread slot),
    "goroutine slots" (newproc found no dead G to reuse), else the program
    counter of the step."""
    out: dict[str, int] = {}
    name_of = getattr(model, "pc_name", None)
    for (_a, pc), n in sorted((getattr(ex, "cuts", None) or {}).items()):
        name = name_of(pc) if name_of else str(pc)
        what = {"STARTM": "threads", "RUN": "goroutine slots"}.get(name, name)
        out[what] = out.get(what, 0) + n
    return out


def safety_counterexample(
    model: Any,
    p: Property,
    steps: list,
    message: str,
    engine: str,
    out_dir: Path | None,
    entry: PropertyResult,
    traces: dict,
) -> None:
    """A safety property's failing run: its ITF trace (written under out_dir)
    and its summary entry. Both engines report through here."""
    doc = trace_document(
        model,
        steps,
        {
            "engine": engine,
            "property": p.id,
            "kind": p.kind,
            "message": message,
            "depth": len(steps) - 1,
            "seed": None,
            "workload": model.describe().get("workload"),
            "mutation": model.describe().get("mutation") or None,
        },
    )
    entry.verdict, entry.depth, entry.message = Verdict.FAIL, len(steps) - 1, message
    if out_dir is not None:
        write_counterexample(out_dir, trace_name(model, p.id, engine), doc, entry)
    traces[p.id] = doc


def _liveness_entry(
    model: Any,
    p: Property,
    lv: LivenessVerdict | None,
    live_stop: str,
    entry: PropertyResult,
    traces: dict,
    out_dir: Path | None,
    engine: str,
    bound: int,
) -> None:
    """A liveness property's verdict and, for a fair cycle found, its lasso."""
    if lv is None:
        why = {
            STOP_MAX_STATES: "the liveness search stopped at --max-states",
            "not-reached": "not reached: the run stopped before the liveness search",
        }.get(live_stop, "the liveness pass was interrupted")
        entry.verdict, entry.fairness, entry.reason = Verdict.UNKNOWN, list(p.fairness), why
        return
    entry.verdict, entry.fairness = lv.verdict, list(lv.fairness)
    if lv.reason:
        entry.reason = lv.reason
    if lv.verdict != Verdict.FAIL:
        return
    doc = trace_document(
        model,
        lv.steps,
        {
            "engine": engine,
            "property": p.id,
            "kind": p.kind,
            "message": lv.message,
            "depth": len(lv.steps) - 1,
            "seed": None,
            "workload": model.describe().get("workload"),
            "mutation": model.describe().get("mutation") or None,
            "fairness": list(lv.fairness),
            "instance": lv.instance,
            "loop_action": lv.loop_action,
        },
        loop=lv.loop,
    )
    entry.depth, entry.message, entry.loop = len(lv.steps) - 1, lv.message, lv.loop
    if out_dir is not None:
        name = trace_name(model, p.id, engine, depth=bound)
        write_counterexample(out_dir, name, doc, entry)
    traces[p.id] = doc


def memory_figures(run: Any) -> dict:
    """What the run held: bytes per state of the visited set (and of the
    liveness graph), the chance that two states shared a fingerprint, and
    the process's peak resident memory."""
    import resource

    out: dict[str, Any] = {
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    }
    ex = run.ex
    if ex is not None and ex.search is not None:
        visited, graph, _ = ex.search.memory()
        n = max(1, len(ex.states))
        out["visited_bytes_per_state"] = round(visited / n, 1)
        if ex.fingerprints:
            out["fingerprint_collision_probability"] = collision_probability(len(ex.states))
    lx = run.live_ex
    if lx is not None and lx is not ex and lx.search is not None:
        visited, graph, _ = lx.search.memory()
        n = max(1, len(lx.states))
        out["graph_bytes_per_state"] = round((visited + graph) / n, 1)
    elif lx is not None and lx.search is not None:
        visited, graph, _ = lx.search.memory()
        out["graph_bytes_per_state"] = round((visited + graph) / max(1, len(lx.states)), 1)
    return out


def collision_probability(n: int) -> float:
    """The chance that two of n states got one 64-bit fingerprint, as TLC
    estimates it: about n(n-1)/2 pairs, each colliding with probability 2^-64."""
    return n * (n - 1) / 2 / 2.0**64
