"""Replaying a trace on the runtime's threads, step by step.

The trace (any the checker wrote: explicit or Z3, safety or lasso, or a
recording) names its configuration and mutation; the runtime is built with
them (or without the mutation, `correct=True`, to see where Go's scheduler
parts ways with the trace). The model is run alongside, on the trace: at
each step it says which choice the trace's step was taken with (the steal
victim, the waiter readied, sysmon's P...), so that the driver can hand the
step and its choice to the thread that owns it (runtime/threads.py
ReplayGate) while every other thread waits. After each step the runtime's
state, projected into the model's vocabulary, must equal the trace's state,
and checkdead must count as many running Ms as the model does.

A lasso (`loop`) is replayed to its end, then around its cycle `loops`
times in all: the cycle is the steps from state `loop` back to it, either
stored (the last state repeats state `loop`) or closed by one step of the
model from the last state to state `loop`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from checker.itf import TraceFileError
from model.config import Config, ConfigError
from model.factory import build_model
from model.gmp import MODEL_HASH
from model.machine import TRUNCATED
from runtime.conform import Divergence, itf_view, property_message, runtime_choice, state_fields
from runtime.factory import build_runtime
from runtime.machine import NOT_ALLOWED
from runtime.scheduler import Runtime
from runtime.threads import ReplayGate

STEP_TIMEOUT = 10.0  # seconds a thread may take for one step before the replay calls it hung


class ReplayError(RuntimeError):
    """The runtime itself failed (a thread raised, or hung): not a divergence."""


@dataclass
class Planned:
    index: int  # the trace's state index this step leads to
    actor: int
    label: str
    expected: dict  # the trace's state after the step (without #meta)
    closing: bool = False  # the lasso's closing step, found through the model
    ends_cycle: bool = False  # the step returns to the lasso's state `loop`


@dataclass
class ReplayResult:
    property: str | None
    message: str  # the trace's own message
    steps: int  # steps the runtime took in step with the trace
    planned: int
    cycles: int  # lasso cycles replayed
    divergence: Divergence | None = None
    reproduced: str | None = None  # the property's verdict on the runtime's last state
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    threads: list[str] = field(default_factory=list)  # the runtime's threads
    mutation: str = ""


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
    keys = ("cores", "max_ms", "ring", "period", "steal_tries", "async_preempt", "workload")
    if not isinstance(cfg, dict) or any(k not in cfg for k in keys):
        raise TraceFileError("#meta.gmpcheck.config is not a configuration of this model")
    try:
        return Config(
            cores=cfg["cores"],
            max_ms=cfg["max_ms"],
            ring=cfg["ring"],
            period=cfg["period"],
            steal_tries=cfg["steal_tries"],
            async_preempt=bool(cfg["async_preempt"]),
            workload=cfg["workload"],
            mutation=cfg.get("mutation") or "",
            profile=cfg.get("profile", "go1.25"),
        )
    except (ConfigError, TypeError) as e:
        raise TraceFileError(f"#meta.gmpcheck.config: {e}") from None


def _strip(state: dict) -> dict:
    return {k: v for k, v in state.items() if k != "#meta"}


def plan_steps(doc: dict, model: Any, loops: int) -> list[Planned]:
    """The steps to replay, with the model run along the trace to check
    that each is one of its steps (TraceFileError if not: an edited trace)."""
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
        return plan
    if loops < 1:
        raise TraceFileError("--loops must be at least 1")
    cycle = plan[loop:]  # the steps from state `loop` to the last state
    if _strip(states[-1]) != _strip(states[loop]) or not cycle:
        closing = Planned(loop, -1, "", _strip(states[loop]), closing=True)
        cycle.append(closing)
        plan.append(closing)
    cycle[-1].ends_cycle = True
    return plan + cycle * (loops - 1)


def replay(
    doc: dict,
    *,
    correct: bool = False,
    loops: int = 1,
    step_timeout: float = STEP_TIMEOUT,
    runtime_class: type[Runtime] | None = None,
) -> ReplayResult:
    """Impose the trace `doc` (checker/itf.py read_trace) on the runtime (of
    the trace's mutation, or Go's with `correct`, or `runtime_class`)."""
    g = doc["#meta"]["gmpcheck"]
    cfg = trace_config(doc)
    try:
        model = build_model(cfg, symmetry=False)
    except ConfigError as e:
        raise TraceFileError(
            f"the trace's model cannot be built: {e} (replay runs Go's scheduler and the "
            "registered mutations, not plug-in variants)"
        ) from None
    names = model.actor_names()
    plan = plan_steps(doc, model, loops)
    t = model.initial_states()[0]
    if itf_view(model, t) != _strip(doc["states"][0]):
        raise TraceFileError(
            "state 0 is not the initial state of the trace's configuration (an edited trace?)"
        )
    rt = build_runtime(replace(cfg, mutation="") if correct else cfg, runtime_class=runtime_class)
    res = ReplayResult(
        property=g.get("property"),
        message=g.get("message") or "",
        steps=0,
        planned=len(plan),
        cycles=0,
        mutation=rt.mutation_name,
    )
    s = rt.snapshot()
    if s != t:
        why = "the runtime does not start where the trace does"
        res.divergence = Divergence(0, None, "init", why, None, state_fields(model, t, s))
        return res
    gate = ReplayGate(model.L.nA)
    rt.start(gate)
    start = time.perf_counter()
    try:
        for k, step in enumerate(plan, 1):
            before = t
            a, c, t = _model_step(model, before, step, names)
            label = gate.run(a, runtime_choice(c), step_timeout)
            if rt.error is not None:
                raise ReplayError(f"{rt.error[0]} raised {rt.error[1]!r}")
            res.threads = [mp.thread.name for mp in rt.allm if mp.thread is not None]
            d, s = _compare(model, rt, k, names[a], step, label, t)
            if d is not None:
                res.divergence = d
                break
            if label != step.label:
                res.notes.append(
                    f"step {k}: the runtime's step is labelled {label!r}, the trace's "
                    f"{step.label!r} (same state)"
                )
            res.steps = k
            res.cycles += step.ends_cycle
        else:
            res.reproduced = property_message(model, res.property, before, label, s)
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


def _model_step(model: Any, t: bytes, step: Planned, names: list[str]) -> tuple[int, Any, bytes]:
    """The model's step that the trace took from t: (actor, choice, next state)."""
    actors = [step.actor] if step.actor >= 0 else range(len(names))
    for a in actors:
        succ, _ = model.actor_steps(t, a)
        for c, lab, u in succ:
            if (step.closing or lab == step.label) and itf_view(model, u) == step.expected:
                if step.closing:
                    step.actor, step.label = a, lab
                return a, c, u
    what = "closes the lasso" if step.closing else f"leads to state {step.index} ({step.label})"
    raise TraceFileError(
        f"no step of the model {what}: the trace is not a run of its own configuration "
        "(edited, or written by another model)"
    )


def _compare(
    model: Any, rt: Any, k: int, actor: str, step: Planned, label: Any, u: bytes
) -> tuple[Divergence | None, bytes]:
    """The runtime's state after step k against the trace's (the model's u):
    the divergence, if any, and the runtime's state."""
    s = rt.snapshot()
    if label == NOT_ALLOWED:
        why = "the runtime's state does not offer the choice this step was taken with"
        return Divergence(k, actor, step.label, why), s
    if label is TRUNCATED or label is None:
        why = "the runtime could not take this step (a bound of the configuration)"
        return Divergence(k, actor, step.label, why), s
    if s != u:
        why = "the runtime's state after this step differs from the trace's"
        return Divergence(k, actor, step.label, why, label, state_fields(model, u, s)), s
    run, want = rt.checkdead_run(), model.checkdead_run(u)
    if run != want:
        why = (
            f"checkdead counts {run} running Ms in the runtime, {want} in the trace "
            "(sysmon's incidlelocked around a retake)"
        )
        return Divergence(k, actor, step.label, why, label), s
    return None, s
