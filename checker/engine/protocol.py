"""The model protocol: what the engines need from a model.

The explicit engine (checker/engine/explore.py) is generic; it checks any object
with these methods, the GMP scheduler model and tests/classic/peterson.py
alike.

    initial_states() -> list[State]
        The initial states, concrete (not yet canonical).

    successors(state) -> (list[(actor, action, next_state)], truncated)
        Every enabled step: the actor that takes it (an int, for fairness and
        for the trace's "actors"), what it did, and the next state. The GMP
        model gives an Action (model/action.py:
        Action("stealWork", m=1, p=0, victim=2, gs=(3,))); another model may
        give the text of its label. The engines only compare and hash it; its
        text, str() of it, is what traces show.
        `truncated` is true when a bound of the model (not the search depth)
        cut a step off: the search is then not complete.

    canonical(state) -> State
        The model's symmetry reduction: the representative of the state's
        class under the renamings the model allows (the identity for a
        model without symmetry). Whether a search uses it is the search's
        option, not the model's: a search with symmetry on (`explore(...,
        symmetry=True)`, the default) stores canonical states, one with it
        off stores the states as they are and never calls it. The function
        a search used is recorded with its result (Exploration.canonical),
        and traces, lassos and the exported graph follow that one. Nothing
        of the model changes during a run.

    symmetry (an attribute, optional)
        Not None when `canonical` renames entities (the GMP model: its
        model.symmetry.Symmetry; None when it was built without one). A
        check (checker/run.py) then judges liveness, whose properties and
        fairness name goroutines and threads, on a second search with
        symmetry off, and the summary says symmetry is on. A model without
        the attribute has its `canonical` used by every search with
        symmetry on.

    is_final(state) -> bool
        A normal end: a state without successors that is not a deadlock.

    properties() -> list[specs.property.Property]
        Invariants (checked on every state) and action properties (checked
        on every transition); the engine adds the deadlock check.

    view(state) -> dict
        The readable form of a state (named fields), for traces.

    describe() -> dict, model_hash() -> str, actor_names() -> list[str]
        The configuration, a hash of the model's source (so a trace from
        another model version is recognised), and a name per actor.

A State is any hashable value whose equality is state equality; the GMP
model uses `bytes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from model.action import Action


class Model(Protocol):
    def initial_states(self) -> list[Any]: ...

    def successors(self, state: Any) -> tuple[list[tuple[int, Action | str, Any]], bool]: ...

    def canonical(self, state: Any) -> Any: ...

    def is_final(self, state: Any) -> bool: ...

    # Its properties are asked of specs (specs.properties_of), not of the model:
    # the model imports nothing of specs/.

    def view(self, state: Any) -> dict: ...

    def describe(self) -> dict: ...

    def model_hash(self) -> str: ...

    def actor_names(self) -> list[str]: ...


def identity(state: Any) -> Any:
    """The canonical form of a search without symmetry: the state itself."""
    return state


def has_symmetry(model: Any) -> bool:
    """Whether the model offers a symmetry that renames (its `symmetry`)."""
    return getattr(model, "symmetry", None) is not None


def reduction(model: Any, symmetry: bool) -> Callable[[Any], Any]:
    """The canonical form a search stores the model's states in: the
    model's own (`canonical`) with symmetry on, else the identity."""
    return model.canonical if symmetry else identity
