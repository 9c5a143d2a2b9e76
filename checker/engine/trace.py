"""Counterexample traces, rebuilt by re-executing the model.

The engine keeps only canonical states and parent links. A trace is
rebuilt from a concrete initial state by taking, at each step, the first
successor whose canonical form (the search's: Exploration.canonical, the
model's own only when the search reduced by symmetry) is the next state on
the chain: the result
is a run of the model itself (concrete ids, real labels), and every step of
it has been executed once more, so a trace is never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checker.engine.explore import Exploration, Violation
from model.action import Action
from specs.property import ACTION, Property

# The first step of every trace: the initial state.
INIT = Action.plain_text("init")


@dataclass
class Step:
    actor: int | None  # None for the initial state
    label: Action  # what the step did; str() of it is its label
    state: Any  # concrete


class TraceError(RuntimeError):
    """Re-execution could not follow the chain: the model is not deterministic
    in its canonical forms, which is a bug in the model or its symmetry."""


def rebuild_path(model: Any, keys: list[Any], key: Callable[[Any], Any]) -> list[Step]:
    """The run through the stored states whose keys are `keys`; `key` gives
    a concrete state's (Exploration.key: its canonical form, or that form's
    fingerprint)."""
    first = keys[0]
    for s in model.initial_states():
        if key(s) == first:
            cur = s
            break
    else:
        raise TraceError("no initial state has the trace's first state as canonical form")
    steps = [Step(None, INIT, cur)]
    for want in keys[1:]:
        succ, _ = model.successors(cur)
        for actor, label, u in succ:
            if key(u) == want:
                steps.append(Step(actor, label, u))
                cur = u
                break
        else:
            raise TraceError(f"step {len(steps)}: no successor reaches the recorded state")
    return steps


def rebuild(model: Any, ex: Exploration, v: Violation, prop: Property) -> list[Step]:
    """The trace of a violation: the path to its state, and for an action
    property the violating step out of it."""
    steps = rebuild_path(model, ex.keys(ex.path_to(v.state)), ex.key)
    if prop.kind == ACTION:
        cur = steps[-1].state
        succ, _ = model.successors(cur)
        want = ex.key_of(v.next_state)
        for actor, label, u in succ:
            if ex.key(u) == want and prop.reason(model, cur, label, u):
                steps.append(Step(actor, label, u))
                break
        else:
            raise TraceError("the violating step could not be re-executed")
    return steps
