"""The summary of a check run: verdicts, counts, counterexample files.

`summarize` turns an exploration into a plain dict (the `--json` output,
schema "gmpcheck.summary/1", documented in README.md) and writes one ITF
file per counterexample; `render_summary` prints it for people.
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
from checker.verdict import Verdict
from checker.views.itf import VERSION, trace_document, write_trace
from specs.property import ACTION, LIVENESS, Property

SUMMARY_SCHEMA = "gmpcheck.summary/1"
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


def write_counterexample(out_dir: Path, name: str, doc: dict, entry: dict) -> None:
    """Write a counterexample and name it in its summary entry; a file that
    cannot be written is named with the reason (the verdict stands)."""
    path = out_dir / name
    try:
        write_trace(path, doc)
    except OSError as e:
        entry["write_error"] = f"{path}: {e.strerror or e}"
        return
    entry["trace"] = str(path)


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
) -> dict:
    """`live_ex`: the liveness search, when it is another search than `ex`;
    `interrupted`: the liveness pass was cut (the safety verdicts of a
    finished `ex` stand); `strict`: an INCONCLUSIVE verdict makes exit 4."""
    complete = ex.complete
    stopped_early = ex.stopped in (STOP_INTERRUPTED, STOP_MAX_STATES) or interrupted
    live_stop = live_ex.stopped if live_ex is not None else ex.stopped
    bounded = not complete
    results = []
    traces: dict[str, dict] = {}
    for p in props:
        entry: dict[str, Any] = {"id": p.id, "kind": p.kind, "statement": p.statement}
        if p.kind == LIVENESS:
            lv = (liveness or {}).get(p.id)
            stop = live_stop if live_ex is not None or not stopped_early else "not-reached"
            _liveness_entry(model, p, lv, stop, entry, traces, out_dir, engine, depth)
            results.append(entry)
            continue
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
            ex.stopped == STOP_ALL_FAILED and not complete
        ):
            n, d = established(ex)
            entry.update(
                verdict=Verdict.UNKNOWN,
                checked_states=n,
                complete_depth=d,
                reason=f"{established_text(n, d)}; {STOP_TEXT[ex.stopped].split(',')[0]}",
            )
        else:
            entry.update(verdict=Verdict.PASS, bounded=bounded)
        results.append(entry)
    checked = {p.id for p in props}
    for p in all_props or []:
        if p.id not in checked:
            results.append(
                {
                    "id": p.id,
                    "kind": p.kind,
                    "statement": p.statement,
                    "verdict": Verdict.NOT_CHECKED,
                }
            )

    failed = [r for r in results if r["verdict"] == Verdict.FAIL]
    if any(r["kind"] != LIVENESS for r in failed):
        code = EXIT_SAFETY
    elif failed:
        code = EXIT_LIVENESS
    elif stopped_early or any(r["verdict"] == Verdict.UNKNOWN for r in results):
        code = EXIT_INCONCLUSIVE  # the run stopped before what it was asked to do
    elif depth == 0 and (ex.truncated_states or (live_ex is not None and live_ex.truncated_states)):
        code = EXIT_INCONCLUSIVE  # asked for everything, a model bound cut the search
    elif strict and any(r["verdict"] == Verdict.INCONCLUSIVE for r in results):
        code = EXIT_INCONCLUSIVE  # --strict: a verdict the bound left open fails the run
    else:
        # Every verdict this bound allows was reached and nothing is violated;
        # an INCONCLUSIVE verdict stays in the summary with its reason.
        code = EXIT_OK
    elapsed = max(ex.elapsed, 1e-9)
    summary = {
        "schema": SUMMARY_SCHEMA,
        "version": VERSION,
        "engine": engine,
        "model": model.describe(),
        "model_hash": model.model_hash(),
        "search": {"depth": depth, "symmetry": symmetry, "workers": workers, "strict": strict},
        "result": {
            "states": len(ex.states),
            "transitions": ex.transitions,
            "depth_reached": ex.depth_reached,
            "stopped": ex.stopped,
            "liveness_stopped": "interrupted" if interrupted else None,
            "stop_reason": ex.stop_reason or stop_reason or None,
            "complete": complete,
            "truncated_states": ex.truncated_states,
            "bounds_hit": bounds_hit(model, ex),
            "elapsed_s": round(ex.elapsed, 3),
            "states_per_s": round(len(ex.states) / elapsed),
        },
        "properties": results,
        "exit_code": code,
    }
    if getattr(model, "plugin", None):
        summary["plugin"] = model.plugin
    summary["_traces"] = traces  # for the text rendering; not part of --json
    return summary


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
    entry: dict,
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
    entry.update(verdict=Verdict.FAIL, depth=len(steps) - 1, message=message)
    if out_dir is not None:
        write_counterexample(out_dir, trace_name(model, p.id, engine), doc, entry)
    traces[p.id] = doc


def _liveness_entry(model, p, lv, live_stop, entry, traces, out_dir, engine, bound) -> None:
    if lv is None:
        why = {
            STOP_MAX_STATES: "the liveness search stopped at --max-states",
            "not-reached": "not reached: the run stopped before the liveness search",
        }.get(live_stop, "the liveness pass was interrupted")
        entry.update(verdict=Verdict.UNKNOWN, fairness=list(p.fairness), reason=why)
        return
    entry.update(verdict=lv.verdict, fairness=list(lv.fairness))
    if lv.reason:
        entry["reason"] = lv.reason
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
    entry.update(depth=len(lv.steps) - 1, message=lv.message, loop=lv.loop)
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
