"""Replaying a trace on the runtime's threads, step by step.

The trace (any the checker wrote: explicit or Z3, safety or lasso, or a
recording) names its configuration and mutation; the runtime is built with
them (or without the mutation, `correct=True`, to see where Go's scheduler
parts ways with the trace). The model is run alongside, on the trace: at
each step it says which choice the trace's step was taken with (the steal
victim, the waiter readied, sysmon's P...), so that the driver can hand the
step and its choice to the thread that owns it (runtime/threads.py
`step`) while every other thread waits at its schedule point. After each step the runtime's
state, projected into the model's vocabulary, must equal the trace's state,
and checkdead must count as many running Ms as the model does.

The runtime names its steps in its own words, so labels are not compared:
what a label said is in the state. The actor and the choice are imposed
(a choice the runtime does not offer is refused); the point an M stops at
next is its program counter (checker/replay/points.py), so a runtime that
takes another path (a step more or less, another branch) parts ways at
the step after which it stands elsewhere; and the locals a choice leaves
behind (stealWork's visited Ps, the batch grabbed) are fields, so a
runtime that acts on another choice than the one imposed parts ways even
where the data is the same (an idle victim).

A macro step (a trace of `--steps macro`: one step per runtime routine,
labelled `a; b; c`) is the actor's fine steps back to back: the thread
takes them one by one, each compared with the model's state after it.

A lasso (`loop`) is replayed to its end, then around its cycle `loops`
times in all. The cycle is the steps from state `loop` back to it: stored
(the last state repeats state `loop`), or closed by one step of the model
from the last state back to state `loop` (`#meta.gmpcheck.loop_action`
names it, when the trace says), or nothing at all when the lasso stutters
(no fair step is left in its last state): then the runtime must not offer
a step there that the model does not. A lasso is reproduced when the
property's obligation (the starved G...) is unmet in every state the
runtime went through on the cycle, as in the trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from typing import Any

from checker.replay.conform import (
    Divergence,
    itf_view,
    lasso_message,
    model_steps,
    property_message,
    runtime_choice,
    state_fields,
)
from checker.replay.points import snapshot
from checker.views.itf import TraceFileError
from model.config import Config, ConfigError
from model.factory import build_model
from model.gmp import MODEL_HASH
from runtime.factory import build_runtime
from runtime.scheduler import Runtime
from runtime.threads import NOT_ALLOWED, NOT_OPEN

STEP_TIMEOUT = 10.0  # seconds a thread may take for one step before the replay calls it hung
MACRO_LIMIT = 256  # fine steps in one macro step, at most


class ReplayError(RuntimeError):
    """The runtime itself failed (a thread raised, or hung): not a divergence."""


@dataclass
class Planned:
    index: int  # the trace's state index this step leads to
    actor: int  # -1: any actor (a lasso's closing step the trace does not name)
    label: str  # "": any label
    expected: dict  # the trace's state after the step (without #meta)
    ends_cycle: bool = False  # the step returns to the lasso's state `loop`


@dataclass
class ReplayResult:
    property: str | None
    message: str  # the trace's own message
    steps: int  # trace steps the runtime took in step with the trace
    planned: int
    cycles: int  # lasso cycles replayed
    divergence: Divergence | None = None
    reproduced: str | None = None  # the property's verdict on the runtime's last state
    elapsed: float = 0.0
    threads: list[str] = field(default_factory=list)  # the runtime's threads
    mutation: str = ""
    plugin: str = ""  # the trace's plug-in (checker/plugin.py), replayed on Go's scheduler
    fine_steps: int = 0  # runtime steps taken (more than `steps` for macro steps)
    stutters: bool = False  # the lasso's cycle is its last state, stuttering


def trace_config(doc: dict) -> Config:
    """The configuration a trace was written with; TraceFileError if it is not
    one this model can build, or the trace is from another model."""
    g = doc["#meta"]["gmpcheck"]
    if g.get("model_hash") != MODEL_HASH:
        raise TraceFileError(
            f"the trace was written by another version of the model (model hash "
            f"{g.get('model_hash')}, this one is {MODEL_HASH}): check it again to get a fresh trace"
        )
    cfg = g.get("config")
    if not isinstance(cfg, dict) or any(k not in cfg for k in ("cores", "workload")):
        raise TraceFileError("#meta.gmpcheck.config is not a configuration of this model")
    known = {f.name for f in fields(Config)}
    try:
        return Config(**{k: v for k, v in cfg.items() if k in known and v is not None})
    except (ConfigError, TypeError) as e:
        raise TraceFileError(f"#meta.gmpcheck.config: {e}") from None


def _recorded_plugin(g: dict) -> Any:
    """The plug-in a trace was written with, loaded from its file (which must
    be the one the trace records: same SHA-256), or None."""
    meta = g.get("plugin")
    if not isinstance(meta, dict):
        return None
    from checker.plugin import PluginError, load_recorded

    try:
        return load_recorded(meta)
    except PluginError as e:
        raise TraceFileError(str(e)) from None


def _padded(s: bytes, like: bytes) -> bytes:
    """The runtime's state in the model's encoding: a plug-in's own fields
    (model/extension.py), which Go's runtime does not have, are taken from
    the model's state `like`, so that the comparison is of the rest."""
    return s + like[len(s) :] if len(s) < len(like) else s


def _strip(state: dict) -> dict:
    return {k: v for k, v in state.items() if k != "#meta"}


def plan_steps(doc: dict, model: Any, loops: int) -> tuple[list[Planned], bool]:
    """The steps to replay, and whether the lasso stutters."""
    names = {n: i for i, n in enumerate(model.actor_names())}
    states = doc["states"]
    plan = []
    for i in range(1, len(states)):
        meta = states[i]["#meta"]
        actor = meta.get("actor")
        if actor not in names:
            raise TraceFileError(f"state {i}: unknown actor {actor!r}")
        plan.append(Planned(i, names[actor], meta["action"], _strip(states[i])))
    loop = doc.get("loop")
    if loop is None:
        return plan, False
    back = doc["#meta"]["gmpcheck"].get("loop_action") or ""
    if back.startswith("(stutters"):
        return plan, True  # no step closes it: the last state is where it stays
    cycle = plan[loop:]  # the steps from state `loop` to the last state
    if _strip(states[-1]) != _strip(states[loop]) or not cycle:
        closing = Planned(loop, -1, back, _strip(states[loop]))
        cycle.append(closing)
        plan.append(closing)
    cycle[-1].ends_cycle = True
    return plan + cycle * (loops - 1), False


def replay(
    doc: dict,
    *,
    correct: bool = False,
    loops: int = 1,
    step_timeout: float = STEP_TIMEOUT,
    runtime_class: type[Runtime] | None = None,
) -> ReplayResult:
    """Impose the trace `doc` (checker/views/itf.py read_trace) on the runtime (of
    the trace's mutation, or Go's with `correct`, or `runtime_class`)."""
    if loops < 1:
        raise TraceFileError("--loops must be at least 1")
    g = doc["#meta"]["gmpcheck"]
    cfg = trace_config(doc)
    plugin = _recorded_plugin(g)
    if plugin is not None:
        # A plug-in has no twin in the runtime: its trace is replayed on Go's
        # scheduler (with the plug-in's workload, if it brings one), and the
        # first step Go's runtime does not take is where the plug-in's
        # change shows.
        cfg = replace(cfg, mutation="")
        correct = True
    model = _trace_model(cfg, plugin)
    plan, stutters = plan_steps(doc, model, loops)
    t = model.initial_states()[0]
    if itf_view(model, t) != _strip(doc["states"][0]):
        raise TraceFileError(
            "state 0 is not the initial state of the trace's configuration (an edited trace?)"
        )
    rt = build_runtime(
        replace(cfg, mutation="") if correct else cfg,
        runtime_class=runtime_class,
        workload=plugin.workload if plugin is not None else None,
    )
    res = ReplayResult(
        property=g.get("property"),
        message=g.get("message") or "",
        steps=0,
        planned=len(plan),
        cycles=0,
        mutation=rt.mutation_name,
        stutters=stutters,
        plugin=plugin.name if plugin is not None else "",
    )
    start = time.perf_counter()
    try:
        rt.start()
        s = _padded(snapshot(rt), t)
        if s != t:
            why = "the runtime does not start where the trace does"
            res.divergence = Divergence(0, None, "init", why, None, state_fields(model, t, s))
            return res
        start = time.perf_counter()
        _drive(doc, model, rt, plan, res, s, step_timeout)
    except (ReplayError, TraceFileError):
        raise
    except Exception as e:
        if rt.error is not None:
            raise ReplayError(f"{rt.error[0]} raised {rt.error[1]!r}") from e
        raise ReplayError(f"{type(e).__name__}: {e}") from e
    finally:
        res.elapsed = time.perf_counter() - start  # the steps, not starting and stopping threads
        rt.stop()
        rt.join()
    return res


def _trace_model(cfg: Config, plugin: Any) -> Any:
    """The model the trace was written from: the configuration's, or the plug-in's."""
    try:
        if plugin is None:
            return build_model(cfg, symmetry=False)
        kw = {"model_class": plugin.model_class, "workload": plugin.workload}
        return build_model(cfg, symmetry=False, plugin=plugin.describe(), **kw)
    except ConfigError as e:
        what = "plug-in" if plugin is not None else "model"
        raise TraceFileError(f"the trace's {what} cannot be built: {e}") from None


def _drive(
    doc: dict, model: Any, rt: Any, plan: list[Planned], res: ReplayResult, s: bytes,
    step_timeout: float,
) -> None:  # fmt: skip
    """The trace's steps handed one by one to the runtime's threads, each
    compared with the model's state after it (the first divergence ends
    it); then whether the runtime reproduced the trace's property."""
    g = doc["#meta"]["gmpcheck"]
    macro = g["config"].get("steps") == "macro"
    names = model.actor_names()
    t = before = model.initial_states()[0]
    label = "init"  # the last step's, in the model's words (its state the runtime's)
    reached = {0: s}  # trace index -> the runtime's state when it got there
    for k, step in enumerate(plan, 1):
        before = t
        chain = model_chain(model, t, step, macro)
        for j, (a, c, fine, u) in enumerate(chain):
            took = rt.step(a, runtime_choice(c), step_timeout)
            if rt.error is not None:
                raise ReplayError(f"{rt.error[0]} raised {rt.error[1]!r}")
            res.threads = [mp.thread.name for mp in rt.allm if mp.thread is not None]
            res.fine_steps += 1
            d, s = _compare(model, rt, k, names[a], step.label or fine, took, t, u)
            label = fine
            if d is not None:
                if len(chain) > 1:
                    d.reason += f" (fine step {j + 1} of {len(chain)}: {fine})"
                res.divergence = d
                return
            t = u
        res.steps = k
        res.cycles += step.ends_cycle
        reached[step.index] = s
    if res.stutters:
        res.divergence = _stutter_divergence(model, rt, t, len(plan) + 1, g)
    if res.divergence is None and doc.get("loop") is not None:
        cycle = [reached[i] for i in range(doc["loop"], len(doc["states"]))]
        inst = g.get("instance")
        res.reproduced = lasso_message(model, res.property, inst, cycle, res.message)
    elif res.divergence is None:
        res.reproduced = property_message(model, res.property, before, label, s)


def _stutter_divergence(model: Any, rt: Any, t: bytes, k: int, g: dict) -> Divergence | None:
    """A lasso that stutters says that nothing fair can happen in its last
    state t: every actor with no step in the model there has none in the
    runtime either (read while every thread waits at the gate)."""
    names = model.actor_names()
    for a, name in enumerate(names):
        if rt.has_step(a) and not model_steps(model, t, a)[0]:
            why = (
                f"the trace stutters here, {name} having no step in its last state, "
                f"but the runtime's {name} has one (choices {rt.options_of(a)})"
            )
            return Divergence(k, name, g.get("loop_action") or "(stutters)", why)
    return None


def model_chain(
    model: Any, t: bytes, step: Planned, macro: bool
) -> list[tuple[int, Any, str, bytes]]:
    """The model's steps that take the trace from t to the planned state:
    one fine step, or for a macro step the actor's fine steps back to back
    (their labels joined by "; " make the trace's label). Each is (actor,
    choice, label, next state). TraceFileError if there is none."""
    actors = [step.actor] if step.actor >= 0 else range(len(model.actor_names()))
    for a in actors:
        chain = _chain(model, t, a, step.label, step.expected, macro, 0)
        if chain:
            return chain
    what = "closes the lasso" if step.actor < 0 else f"leads to state {step.index} ({step.label})"
    raise TraceFileError(
        f"no step of the model {what}: the trace is not a run of its own configuration "
        "(edited, or written by another model)"
    )


def _chain(
    model: Any, t: bytes, a: int, label: str, expected: dict, macro: bool, depth: int
) -> list[tuple[int, Any, str, bytes]] | None:
    """Actor a's steps from t to the `expected` state whose labels make
    `label` ("" when the trace does not say: a lasso's closing step). The
    trace file has the text: the model's steps are rendered to compare."""
    succ, _ = model_steps(model, t, a)
    for c, lab, u in succ:  # one whole step first
        if (not label or str(lab) == label) and itf_view(model, u) == expected:
            return [(a, c, lab, u)]
    if not macro or depth >= MACRO_LIMIT:
        return None
    if not label:
        return _search_chain(model, t, a, expected)
    for c, lab, u in succ:  # then a fine step that begins the macro step
        text = str(lab) + "; "
        if label.startswith(text):
            tail = _chain(model, u, a, label[len(text) :], expected, macro, depth + 1)
            if tail:
                return [(a, c, lab, u), *tail]
    return None


def _search_chain(
    model: Any, t: bytes, a: int, expected: dict
) -> list[tuple[int, Any, str, bytes]] | None:
    """The shortest run of actor a's fine steps from t to `expected`
    (breadth-first, over at most a few thousand states)."""
    parent: dict[bytes, tuple[bytes, Any, str] | None] = {t: None}
    frontier = [t]
    while frontier and len(parent) < 5000:
        nxt = []
        for x in frontier:
            for c, lab, u in model_steps(model, x, a)[0]:
                if u in parent:
                    continue
                parent[u] = (x, c, lab)
                if itf_view(model, u) == expected:
                    chain = []
                    while parent[u] is not None:
                        x0, c0, l0 = parent[u]  # type: ignore[misc]
                        chain.append((a, c0, l0, u))
                        u = x0
                    return chain[::-1]
                nxt.append(u)
        frontier = nxt
    return None


def _compare(
    model: Any, rt: Any, k: int, actor: str, trace_label: str, label: Any, t: bytes, u: bytes
) -> tuple[Divergence | None, bytes]:
    """The runtime's state after a step of trace step k (from the model's
    t) against the model's u (the trace's state, or on the way to it in a
    macro step): the divergence, if any, and the runtime's state."""
    s = _padded(snapshot(rt, t), u)
    if label == NOT_ALLOWED:
        why = "the runtime's state does not offer the choice this step was taken with"
        return Divergence(k, actor, trace_label, why), s
    if label == NOT_OPEN:
        why = "the runtime could not take this step (a bound of the configuration)"
        return Divergence(k, actor, trace_label, why), s
    if s != u:
        why = "the runtime's state after this step differs from the trace's"
        return Divergence(k, actor, trace_label, why, label, state_fields(model, u, s)), s
    run, want = rt.checkdead_run(), model.checkdead_run(u)
    if run != want:
        why = (
            f"checkdead counts {run} running Ms in the runtime, {want} in the trace "
            "(sysmon's incidlelocked around a retake)"
        )
        return Divergence(k, actor, trace_label, why, label), s
    return None, s
