"""What a property is, for every engine: an id, a statement, a kind, and the
mutations that must violate it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from model.gmp import GMPModel

INVARIANT = "invariant"  # checked on every reachable state
ACTION = "action"  # checked on every transition (state, label, next state)
DEADLOCK = "deadlock"  # built into the engine: a state with no successor that is not an end
LIVENESS = "liveness"

# A liveness obligation: (instance, predicate over a state's atoms), the
# predicate true where the obligation is not met.
Obligation = tuple[str, Callable[[int], bool]]
F = TypeVar("F", bound=Callable[..., Any])


def explanation(fn: F) -> F:
    """Marks a helper that a check calls only once it knows the property is
    violated, to say why. It changes nothing when the check runs; the
    symbolic engine stops a path of the check there (the path fails)
    instead of following the explanation's own branches."""
    fn.explains_violation = True  # type: ignore[attr-defined]
    return fn


@dataclass(frozen=True)
class Property:
    id: str
    kind: str
    statement: str
    # Invariants: check(model, state) -> None if it holds, else a one-line reason.
    # Actions: check(model, state, action, next_state) -> None or a reason
    # (the step's Action, model/action.py; str() of it is its label).
    check: Callable[..., str | None] | None = None
    violated_by: tuple[str, ...] = ()
    source: str = ""  # where the runtime states or asserts it
    # Checked unless --property picks others. A property Go itself does not
    # meet (a finding, docs/findings.md) is checked only when asked for.
    default: bool = True
    # Liveness: stuck(model) -> [(instance, predicate over a state's atoms)],
    # the states where the obligation is not met; the fairness assumptions
    # (specs/liveness.py FAIRNESS) its verdict rests on by default; and
    # applies(model) -> None, or why the property does not apply.
    stuck: Callable[[GMPModel], list[Obligation]] | None = None
    fairness: tuple[str, ...] = ()
    applies: Callable[[GMPModel], str | None] | None = None

    def reason(self, model: Any, *args: Any) -> str | None:
        """The check of an invariant (model, state) or an action property
        (model, state, label, next state): None if it holds, else why not."""
        if self.check is None:
            raise TypeError(f"{self.id} is a {self.kind} property: it has no check")
        return self.check(model, *args)

    def obligations(self, model: Any) -> list[Obligation]:
        """A liveness property's stuck(model): [(instance, predicate)]."""
        if self.stuck is None:
            raise TypeError(f"{self.id} is a {self.kind} property: it has no obligations")
        return self.stuck(model)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "statement": self.statement,
            "violated_by": list(self.violated_by),
            "source": self.source,
            "default": self.default,
            **({"fairness": list(self.fairness)} if self.kind == LIVENESS else {}),
        }


DEADLOCK_PROPERTY = Property(
    id="deadlock",
    kind=DEADLOCK,
    statement="every state that has no successor is a normal end (every goroutine has exited)",
    source="checkdead's 'all goroutines are asleep - deadlock!' (proc.go)",
)


@dataclass
class PropertySet:
    """The properties a run checks, in a fixed order."""

    items: list[Property] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [p.id for p in self.items]

    def get(self, pid: str) -> Property:
        for p in self.items:
            if p.id == pid:
                return p
        raise KeyError(pid)
