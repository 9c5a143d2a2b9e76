"""What a variant (a mutation or a `--model FILE:NAME` plug-in) may add to the
model: program counters, with the steps run there, and state fields.

A variant declares them on its class:

    class WakepPeeks(GMPModel):
        program_counters = {"WAKEP_PEEK": 70}        # M steps; sysmon's: sysmon_program_counters
        state_fields = (StateField("peeked", kind="P"),)

        @step(70)
        def wakep_peek(self, s, a, c): ...             # s[self.field("peeked")] = p

The new program counters are named in traces, views and coverage; the
steps at them are the variant's own `@step` methods. A state field is one
byte in `sched`, or one per G, P or M, appended to the state vector after
the model's own fields (`model.field(name)` is its offset, or the list of
offsets per entity), shown in traces under the entity it belongs to, and
given its type for the symbolic engine (the values it may hold).

Symmetry reduction renames Ps, Ms and Gs: a field in `sched` that names a
G, P or M is renamed with them, and a per-entity field (a flag or a count)
moves with its entity. The compiled kernel's canonical form renames the
`sched` fields only: a per-entity field under symmetry runs on the Python
steps (checker/kernel says so; `--kernel compiled` is refused, exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("flag", "count", "G", "P", "M")
SCOPES = ("sched", "G", "P", "M")
# Program counters a variant may declare: above the model's own (model/pcs.py,
# 0..63), below NONE (255) and the state encoding's bound on actors' fields.
PC_RANGE = range(64, 250)


class ExtensionError(ValueError):
    """A declaration the model cannot take (a usage error, exit 2)."""


@dataclass(frozen=True)
class StateField:
    """One field a variant adds to the state.

    name   how traces and views call it (a Python identifier)
    scope  "sched" (one byte), or "G", "P", "M" (one byte per goroutine slot,
           per P, per M)
    kind   "flag" (0 or 1), "count" (0 to `limit`), or in `sched` a
           reference to a "G", "P" or "M" (none: shown as -)
    limit  the largest value of a count
    doc    what it stands for in the runtime
    """

    name: str
    scope: str = "sched"
    kind: str = "count"
    limit: int = 254
    doc: str = ""

    def check(self) -> None:
        if not self.name.isidentifier():
            raise ExtensionError(f"state field {self.name!r}: the name must be an identifier")
        if self.scope not in SCOPES:
            raise ExtensionError(
                f"state field {self.name!r}: scope {self.scope!r} is not one of {', '.join(SCOPES)}"
            )
        if self.kind not in KINDS:
            raise ExtensionError(
                f"state field {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            )
        if self.scope != "sched" and self.kind not in ("flag", "count"):
            raise ExtensionError(
                f"state field {self.name!r}: a per-{self.scope} field holds a flag or a count; "
                "a reference to a G, P or M belongs in sched"
            )
        if self.kind == "count" and not 1 <= self.limit <= 254:
            raise ExtensionError(f"state field {self.name!r}: a count's limit is 1 to 254")

    @property
    def is_ref(self) -> bool:
        return self.kind in ("G", "P", "M")


def declared(klass: type, attr: str) -> dict[str, Any]:
    """A class attribute merged over the class's bases (a subclass's entries win)."""
    out: dict[str, Any] = {}
    for k in reversed(klass.__mro__):
        val = vars(k).get(attr)
        if isinstance(val, dict):
            out.update(val)
    return out


def declared_fields(klass: type) -> tuple[StateField, ...]:
    out: dict[str, StateField] = {}
    for k in reversed(klass.__mro__):
        for f in vars(k).get("state_fields", ()) or ():
            if not isinstance(f, StateField):
                raise ExtensionError(f"{k.__name__}.state_fields holds {f!r}, not a StateField")
            out[f.name] = f
    return tuple(out.values())
