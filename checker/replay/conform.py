"""Comparing the runtime with the model: what replay and record share.

Both hold the runtime's state (its projection, runtime/project.py) against
a state of the model, step by step; a disagreement is a `Divergence`: the
first step where they differ, and the fields that differ, named as traces
name them (`P[1].runq`, `M[0].pc`, `sched.nmspinning`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checker.views.itf import _itf_value
from checker.views.render import changed_fields, fmt_value
from model.machine import TRUNCATED
from model.state import NONE, QueueError
from specs import properties_of
from specs.liveness import atoms


def model_steps(model: Any, t: bytes, a: int) -> tuple[list[tuple[Any, str, bytes]], bool]:
    """The model's own (fine) steps of actor a from state t, each with the
    choice it is taken with: [(choice, label, next state)], and whether a
    bound cut one off. Replay needs the choice to impose it on the runtime,
    and the model's successor lists do not carry it, so this reads the
    model's step registry (model/machine.py `_dispatch`: pc -> the step and
    its chooser). A step that overflows (or underflows) a queue is the
    model's throw, as its `actor_steps` records it."""
    L = model.L
    if t[L.throw]:
        return [], False  # the runtime threw: the process is gone
    entry = model._dispatch[t[L.pc[a]]]
    if entry is None:
        return [], False
    fn, chooser = entry
    out = []
    truncated = False
    for c in (None,) if chooser is None else chooser(t, a):
        s = list(t)
        try:
            label = fn(s, a, c)
        except QueueError as e:
            label, u = next(
                (lab, u) for lab, u in model.actor_steps(t, a)[0] if u[L.throw] == e.code
            )
            out.append((c, label, u))
            continue
        if label is TRUNCATED:
            truncated = True
            continue
        out.append((c, label, bytes(s)))
    return out, truncated


def itf_view(model: Any, t: bytes) -> dict:
    """The model's readable view of a state, as a trace stores it (nil is -1)."""
    return _itf_value(model.view(t))


def runtime_choice(c: Any) -> Any:
    """A model choice in the runtime's terms: the model's NONE is None."""
    if isinstance(c, tuple):
        return tuple(None if x == NONE else x for x in c)
    return None if c == NONE else c


def state_fields(model: Any, expected: bytes, got: bytes) -> list[tuple[str, Any, Any]]:
    """The fields in which `got` differs from `expected`: (path, expected, got)."""
    return changed_fields(itf_view(model, expected), itf_view(model, got))


@dataclass
class Divergence:
    """The first step at which the runtime and the model (or a trace) part ways."""

    step: int
    actor: str | None
    label: str  # the step as the trace (or the model) has it
    reason: str
    runtime_label: str | None = None
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)
    expected_name: str = "trace"

    def __post_init__(self) -> None:
        # A report, so text: the model's step is given as its Action.
        self.label = str(self.label)
        if self.runtime_label is not None:
            self.runtime_label = str(self.runtime_label)

    def lines(self) -> list[str]:
        who = f" by {self.actor}" if self.actor else ""
        out = [f"diverged at step {self.step}{who}: {self.label}", f"  {self.reason}"]
        if self.runtime_label is not None and self.runtime_label != self.label:
            out.append(f"  the runtime's step: {self.runtime_label}")
        width = max((len(p) for p, _, _ in self.fields), default=0)
        for path, want, got in self.fields:
            out.append(
                f"    {path:<{width}}  {self.expected_name} {fmt_value(want)}, "
                f"runtime {fmt_value(got)}"
            )
        return out

    def as_dict(self) -> dict:
        return {
            "step": self.step,
            "actor": self.actor,
            "label": self.label,
            "runtime_label": self.runtime_label,
            "reason": self.reason,
            "fields": [{"field": p, "expected": w, "runtime": g} for p, w, g in self.fields],
        }


def property_message(
    model: Any, pid: str | None, prev: bytes, label: str | None, t: bytes
) -> str | None:
    """What the trace's property says of the state `t` the runtime reached
    (for an action property, of the step prev -label-> t): the violation
    message, or None if it holds. Properties this checker does not know
    (or a recording's None) say nothing."""
    if not pid:
        return None
    props = {p.id: p for p in properties_of(model)}
    p = props.get(pid)
    if p is None:
        return None
    if p.kind == "action":
        return p.reason(model, prev, label, t)
    if p.kind == "invariant":
        return p.reason(model, t)
    if p.kind == "deadlock":
        succ, _ = model.successors(t)
        if not succ and not model.is_final(t):
            return "no thread can take a step and not every goroutine has exited (deadlock)"
    return None


def lasso_message(
    model: Any, pid: str | None, instance: str | None, cycle: list[bytes], message: str
) -> str | None:
    """What a liveness property says of the cycle the runtime went round (or
    the state it stutters in): the trace's `message` if the property's
    obligation for `instance` (a G, "some G"...) is unmet in every state of
    it, else None. A property or instance this checker does not know says
    nothing."""
    p = {p.id: p for p in properties_of(model)}.get(pid or "")
    if p is None or p.kind != "liveness" or not cycle:
        return None
    stuck = dict(p.obligations(model)).get(instance or "")
    if stuck is None:
        return None
    return message if all(stuck(atoms(model, t)) for t in cycle) else None
