"""Recording a free run on real threads, and checking it against the model.

Every thread steps freely; nothing serialises them but the step locks
(runtime/locks.py). A recording journal logs, for each step while its
locks are still held, its ticket (the order the steps took effect in),
its actor and label, and the encoding of every unit it held: the only
parts of the state it can have changed. Sorting by ticket and applying
the encodings in that order gives the state after each step; two-phase
locking guarantees that this sequence is one the steps could have taken
one at a time.

The check then asks the model, for each step: is this step (same actor,
same label) enabled in the previous state, and does it lead to the same
state? And does checkdead count the same running Ms? The first step where
it does not is a divergence. When the run went quiet by itself, the model
must not have a step left either. The default safety properties are
checked along the way (a mutation may break one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checker.engine.trace import Step
from checker.replay.conform import Divergence, model_steps, state_fields
from checker.views.itf import trace_document
from runtime.locks import Unit
from runtime.machine import Journal
from runtime.scheduler import Runtime
from runtime.threads import FreeRun
from specs import properties_of
from specs.property import ACTION, INVARIANT


class RecordingJournal(Journal):
    """A journal that also logs what each step changed."""

    def __init__(self, rt: Runtime):
        super().__init__()
        self.L = rt.L
        self.entries: list[list[tuple]] = [[] for _ in range(rt.L.nA)]
        self._scratch = [rt.L.blank() for _ in range(rt.L.nA)]

    def commit(self, rt: Any, a: int, label: str, held: list[Unit]) -> int:
        t = super().commit(rt, a, label, held)
        s = self._scratch[a]
        frags = []
        for u in held:
            if u.span is not None:
                u.encode(s)  # type: ignore[misc]
                lo, hi = u.span
                frags.append((lo, bytes(s[lo:hi])))
        if t == self.throw_ticket:
            frags.append((self.L.throw, bytes([rt.sched.throw])))
        run = rt.checkdead_run() if rt.sched.unit in held else None
        self.entries[a].append((t, a, label, frags, run))
        return t


@dataclass
class Recording:
    """A free run, as the sequence of its steps."""

    initial: bytes
    initial_run: int
    steps: list[tuple[int, str, bytes]] = field(default_factory=list)  # (actor, label, state)
    runs: list[int] = field(default_factory=list)  # checkdead's run count after each step
    run: FreeRun | None = None
    cut: str = ""  # why the recording ends before the run did, if it does


def record(rt: Runtime, steps: int | None = None, seconds: float | None = None) -> Recording:
    """Run `rt` freely on its threads and return the recording."""
    journal = RecordingJournal(rt)
    rt.journal = journal
    rec = Recording(initial=rt.snapshot(), initial_run=rt.checkdead_run())
    rec.run = rt.run_free(steps=steps, seconds=seconds)
    entries = sorted(e for per_actor in journal.entries for e in per_actor)
    end = len(entries)
    if steps is not None and end > steps:
        end, rec.cut = steps, f"the first {steps} steps"
    if journal.throw_ticket is not None and journal.throw_ticket + 1 < end:
        end, rec.cut = journal.throw_ticket + 1, "the process ends where the runtime threw"
    if journal.fail_ticket is not None and journal.fail_ticket <= end:
        end, rec.cut = journal.fail_ticket, "up to the step that raised"
    s = list(rec.initial)
    run = rec.initial_run
    for i, (ticket, a, label, frags, r) in enumerate(entries[:end]):
        if ticket != i:  # a step took its ticket and raised before logging
            rec.cut = "up to the step that raised"
            break
        for lo, b in frags:
            s[lo : lo + len(b)] = b
        if r is not None:
            run = r
        rec.steps.append((a, label, bytes(s)))
        rec.runs.append(run)
    return rec


def check(model: Any, rec: Recording) -> tuple[Divergence | None, tuple[int, str, str] | None]:
    """Check a recording against the model: the first divergence (or None),
    and the first safety violation along it, (step, property, message)."""
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
    for i, ((a, label, u), run) in enumerate(zip(rec.steps, rec.runs, strict=True), 1):
        steps, _ = model_steps(model, t, a)
        if not any(lab == label and v == u for _, lab, v in steps):
            return _divergence(model, i, names[a], label, steps, u), violation
        want = model.checkdead_run(u)
        if run != want:
            why = f"checkdead counts {run} running Ms in the runtime, {want} in the model"
            return Divergence(i, names[a], label, why, expected_name="model"), violation
        if violation is None:
            for p in actions:
                msg = p.reason(model, t, label, u)
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


def _divergence(model, i: int, actor: str, label: str, steps: list, u: bytes) -> Divergence:
    same = [v for _, lab, v in steps if lab == label]
    if same:
        why = "the model's step with this label leads to another state"
        return Divergence(i, actor, label, why, None, state_fields(model, same[0], u), "model")
    offered = "; ".join(lab for _, lab, _ in steps) or "none"
    why = f"the model has no such step for {actor} here (its steps: {offered})"
    return Divergence(i, actor, label, why, expected_name="model")


def recording_document(
    model: Any,
    rec: Recording,
    *,
    seed: int,
    divergence: Divergence | None,
    violation: tuple[int, str, str] | None,
    error: str | None,
    checked: bool = True,
) -> dict:
    """The recording as an ITF trace (checker/views/itf.py), viewable and replayable.
    `checked` False: the check against the model was interrupted."""
    steps = [Step(None, "init", rec.initial)]
    steps += [Step(a, label, u) for a, label, u in rec.steps]
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
            "stopped": run.stopped,
            "cut": rec.cut or None,
            "steps_taken": run.steps,
            "elapsed_s": round(run.elapsed, 3),
            "accepted": (divergence is None and not error) if checked else None,
            "divergence": divergence.as_dict() if divergence else None,
        },
    }
    return trace_document(model, steps, meta)
