"""Recording a free run on real threads, and checking it against the model.

A free run lets a seeded random scheduler (or PCT) pick, at every schedule point,
which thread takes the next step (runtime/threads.py run_free); a
recording journal keeps each step: its actor, the choice it was taken
with, the runtime's name for it, and the runtime's state after it,
projected into the model's vocabulary (checker/replay/points.py).

The check then asks the model, for each step: does the same actor have a
step with the same choice in the previous state, leading to the same
state? And does checkdead count the same running Ms? The first step where
it does not is a divergence; an accepted step takes the model's label.
When the run went quiet by itself, the model must not have a step left
either. The default safety properties are checked along the way (a
mutation may break one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checker.engine.trace import INIT, Step
from checker.replay.conform import Divergence, model_steps, runtime_choice, state_fields
from checker.replay.points import snapshot
from checker.views.itf import trace_document
from model.action import Action
from runtime.scheduler import Runtime
from runtime.threads import FreeRun, Journal
from specs import properties_of
from specs.property import ACTION, INVARIANT


class RecordingJournal(Journal):
    """A journal that keeps every step and the state after it."""

    def __init__(self, initial: bytes):
        self.last = initial
        self.entries: list[tuple[int, Any, str, bytes, int]] = []

    def step(self, rt: Any, a: int, choice: Any, label: str) -> None:
        self.last = snapshot(rt, self.last)
        self.entries.append((a, choice, label, self.last, rt.checkdead_run()))


@dataclass
class Recording:
    """A free run, as the sequence of its steps."""

    initial: bytes
    initial_run: int
    # (actor, label, state): the runtime's label, the model's once checked
    steps: list[tuple[int, str, bytes]] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)  # checkdead's run count after each step
    choices: list[Any] = field(default_factory=list)  # the choice each step was taken with
    run: FreeRun | None = None
    cut: str = ""  # why the recording ends before the run did, if it does


def record(rt: Runtime, steps: int | None = None, seconds: float | None = None) -> Recording:
    """Run `rt` freely on its threads and return the recording."""
    rt.start()
    initial = snapshot(rt)
    journal = RecordingJournal(initial)
    rt.journal = journal
    rec = Recording(initial=initial, initial_run=rt.checkdead_run())
    rec.run = rt.run_free(steps=steps, seconds=seconds)
    if rec.run.stopped == "error":
        rec.cut = "up to the step that raised"
    elif rec.run.stopped == "throw":
        rec.cut = "the process ends where the runtime threw"
    for a, choice, label, u, run in journal.entries:
        rec.steps.append((a, label, u))
        rec.choices.append(choice)
        rec.runs.append(run)
    return rec


def check(model: Any, rec: Recording) -> tuple[Divergence | None, tuple[int, str, str] | None]:
    """Check a recording against the model: the first divergence (or None),
    and the first safety violation along it, (step, property, message).
    The steps accepted take the model's labels."""
    names = model.actor_names()
    t = model.initial_states()[0]
    if rec.initial != t:
        fields = state_fields(model, t, rec.initial)
        return Divergence(
            0, None, "init", "the runtime starts elsewhere", None, fields, "model"
        ), None
    invariants = [p for p in properties_of(model) if p.default and p.kind == INVARIANT]
    actions = [p for p in properties_of(model) if p.default and p.kind == ACTION]
    violation = None
    for i, ((a, label, u), c, run) in enumerate(
        zip(rec.steps, rec.choices, rec.runs, strict=True), 1
    ):
        steps, _ = model_steps(model, t, a)
        same = [(lab, v) for mc, lab, v in steps if runtime_choice(mc) == c]
        match = next((lab for lab, v in same if v == u), None)
        if match is None:
            return _divergence(model, i, names[a], label, same, steps, u), violation
        rec.steps[i - 1] = (a, match, u)
        want = model.checkdead_run(u)
        if run != want:
            why = f"checkdead counts {run} running Ms in the runtime, {want} in the model"
            return Divergence(i, names[a], match, why, expected_name="model"), violation
        if violation is None:
            for p in actions:
                msg = p.reason(model, t, match, u)
                if msg:
                    violation = (i, p.id, msg)
            for p in invariants:
                msg = p.reason(model, u)
                if msg and violation is None:
                    violation = (i, p.id, msg)
        t = u
    if rec.run is not None and rec.run.stopped == "quiescent" and not rec.cut:
        succ, _ = model.successors(t)
        if succ:
            a, label, _ = succ[0]
            why = f"the runtime went quiet, but the model can still step: {names[a]} {label}" + (
                f" (and {len(succ) - 1} more)" if len(succ) > 1 else ""
            )
            n = len(rec.steps)
            return Divergence(n, None, "end of the run", why, expected_name="model"), violation
    return None, violation


def _divergence(
    model: Any, i: int, actor: str, label: str, same: list, steps: list, u: bytes
) -> Divergence:
    """The runtime's step `label` of `actor` led to u: the model's step with
    the same choice leads elsewhere, or the model has none."""
    if same:
        lab, v = same[0]
        why = "the model's step with the same choice leads to another state"
        return Divergence(i, actor, lab, why, label, state_fields(model, v, u), "model")
    offered = "; ".join(lab for _, lab, _ in steps) or "none"
    why = f"the model has no such step for {actor} here (its steps: {offered})"
    return Divergence(i, actor, label, why, expected_name="model")


def recording_document(
    model: Any,
    rec: Recording,
    *,
    seed: int,
    scheduler: str = "random",
    pct_depth: int | None = None,
    divergence: Divergence | None,
    violation: tuple[int, str, str] | None,
    error: str | None,
    checked: bool = True,
) -> dict:
    """The recording as an ITF trace (checker/views/itf.py), viewable and replayable.
    `checked` False: the check against the model was interrupted."""
    steps = [Step(None, INIT, rec.initial)]
    # A step the model accepted has its action; one after a divergence, the
    # runtime's text for it.
    steps += [
        Step(a, label if isinstance(label, Action) else Action.plain_text(label), u)
        for a, label, u in rec.steps
    ]
    run = rec.run
    assert run is not None
    if error:
        message = f"a runtime thread raised: {error}"
    elif divergence is not None:
        message = f"not accepted by the model: step {divergence.step}: {divergence.reason}"
    elif violation is not None:
        message = f"step {violation[0]}: {violation[2]}"
    elif not checked:
        message = "not checked against the model (the check was interrupted)"
    else:
        message = "accepted by the model: every step enabled, every state equal"
    meta = {
        "engine": "runtime",
        "property": violation[1] if violation and divergence is None else None,
        "kind": "recording",
        "message": message,
        "depth": len(steps) - 1,
        "seed": seed,
        "workload": model.describe().get("workload"),
        "mutation": model.describe().get("mutation") or None,
        "recording": {
            "scheduler": scheduler,
            "pct_depth": pct_depth,
            "stopped": run.stopped,
            "cut": rec.cut or None,
            "steps_taken": run.steps,
            "elapsed_s": round(run.elapsed, 3),
            "accepted": (divergence is None and not error) if checked else None,
            "divergence": divergence.as_dict() if divergence else None,
        },
    }
    return trace_document(model, steps, meta)
