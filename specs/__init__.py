"""The properties the checker checks: safety (specs/safety.py) and the
engine's deadlock check. Each names the mutations that must violate it
(from model/mutations.py, the one place that says so)."""

from __future__ import annotations

from dataclasses import replace

from specs.liveness import LIVENESS_PROPERTIES
from specs.property import DEADLOCK_PROPERTY, Property
from specs.safety import SAFETY


def all_properties() -> list[Property]:
    from model.mutations import MUTATIONS

    out = []
    for p in [*SAFETY, DEADLOCK_PROPERTY, *LIVENESS_PROPERTIES]:
        by = tuple(
            m.name for m in MUTATIONS.values() if any(p.id in props for props, _ in m.checks())
        )
        out.append(replace(p, violated_by=by))
    return out


def properties_for(model: object) -> list[Property]:
    """Every property a run of the G-M-P model can check; `default` says which
    it checks unasked."""
    return all_properties()


def properties_of(model: object) -> list[Property]:
    """The properties of any model: its own when it declares them (a classic
    model, a test's toy graph), else the G-M-P model's (properties_for)."""
    own = getattr(model, "properties", None)
    return own() if callable(own) else properties_for(model)


PROPERTY_IDS = [p.id for p in [*SAFETY, DEADLOCK_PROPERTY, *LIVENESS_PROPERTIES]]
