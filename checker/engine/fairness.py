"""A model's fairness groups as bit masks: group i is bit i, in the order of
the model's fairness_groups() (specs/liveness.py FAIRNESS names the
assumptions; model/gmp.py says which steps count for which group)."""

from __future__ import annotations

from typing import Any

from model.action import Action


def _groups(model: Any) -> list[tuple[str, str, str]]:
    """(name, assumption, strength) per fairness group; a model without
    fairness_groups has one weak group per actor, all under "m"."""
    groups = getattr(model, "fairness_groups", None)
    if groups is None:
        return [(n, "m", "weak") for n in model.actor_names()]
    return groups()


def fairness_mask(model: Any, assumptions: tuple[str, ...]) -> tuple[int, int]:
    """The (weak, strong) fairness groups, as bit masks, that the given
    assumptions make fair."""
    weak = strong = 0
    for i, (_, kind, strength) in enumerate(_groups(model)):
        if kind in assumptions:
            if strength == "strong":
                strong |= 1 << i
            else:
                weak |= 1 << i
    return weak, strong


def group_names(model: Any, mask: int) -> list[str]:
    return [n for i, (n, _, _) in enumerate(_groups(model)) if mask >> i & 1]


def edge_groups_of(model: Any, actor: int, action: Action) -> int:
    fn = getattr(model, "edge_groups", None)
    return fn(actor, action) if fn else 1 << actor
