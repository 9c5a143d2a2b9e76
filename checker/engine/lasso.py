"""A lasso on the explored state graph (checker/engine/liveness.py finds
it), and the run of the model that follows it: the prefix, then the cycle,
re-executed step by step and checked again on the concrete states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checker.engine.explore import Exploration
from checker.engine.fairness import edge_groups_of, group_names
from checker.engine.trace import Step, TraceError, rebuild_path
from specs.property import Property


@dataclass
class Lasso:
    prefix: list[int]  # state indices from the initial state to the cycle's entry
    cycle: list[int]  # state indices of the cycle, starting at the entry (not repeated)
    stutter: bool = False  # a stuck state where nothing can happen


def concretize(
    model: Any, ex: Exploration, lasso: Lasso, prop: Property, instance: str, fair: tuple[int, int]
) -> tuple[list[Step], int, str]:
    """Re-execute the lasso through the model: the prefix, then the cycle.

    The graph merges the steps between two states into one edge that counts
    for all their fairness groups, and a state may be left by several
    self-loops (steps that come back to it, by different actors). A cycle
    of states is therefore not yet a run: on each edge one concrete step is
    taken, the one that adds a group the cycle still needs (every weak group
    enabled all along it, every strong group enabled somewhere on it), and
    at each state every self-loop that adds such a group is taken too; the
    cycle goes round again while that adds groups. Then every cycle state
    is checked stuck and the concrete cycle fair, again, on the model's own
    successors. TraceError says in words why a lasso could not be built."""
    prefix = rebuild_path(model, ex.keys(lasso.prefix), ex.key)
    loop = len(prefix) - 1
    stuck = dict(prop.obligations(model))[instance]
    from specs.liveness import atoms

    enabled = _enabled_groups(model)
    weak, strong = fair
    if lasso.stutter:
        last = prefix[-1].state
        en = enabled(last)
        if en & (weak | strong) or not stuck(atoms(model, last)):
            raise TraceError("a stutter state that is not stuck or has a fair step")
        left = group_names(model, en)
        return prefix, loop, "(stutters: " + (", ".join(left) or "nothing") + " never steps)"
    start = prefix[-1].state
    ring = ex.keys(lasso.cycle[1:] + [lasso.cycle[0]])
    states = _cycle_states(model, ex, start, ring)
    always, sometimes = _along(enabled, states, weak)
    needed = always | (sometimes & strong)
    steps = _round_cycle(model, ex, prefix, ring, states, needed)
    back = steps.pop()  # the step back to the loop's first state
    cycle_steps = steps[loop + 1 :] + [back]

    # Check the concrete cycle: stuck all along, and fair.
    cycle_states = [steps[loop].state] + [s.state for s in steps[loop + 1 :]]
    if not all(stuck(atoms(model, s)) for s in cycle_states):
        raise TraceError("a cycle state is not stuck")
    always, sometimes = _along(enabled, cycle_states, weak)
    taken = 0
    for st in cycle_steps:
        assert st.actor is not None  # every step of a cycle has one (the first has not)
        taken |= edge_groups_of(model, st.actor, st.label)
    unfair = (always & ~taken) | (sometimes & strong & ~taken)
    if unfair:
        raise TraceError(
            f"no concrete cycle through these states takes a step of "
            f"{', '.join(group_names(model, unfair))}, which is enabled on it"
        )
    return steps, loop, str(back.label)


def _enabled_groups(model: Any) -> Callable[[Any], int]:
    """The fairness groups enabled in a state: its own (state_groups) and
    those of the steps it can take."""
    state_groups = getattr(model, "state_groups", lambda _t: 0)

    def enabled(t: Any) -> int:
        en = state_groups(t)
        for actor, label, _ in model.successors(t)[0]:
            en |= edge_groups_of(model, actor, label)
        return en

    return enabled


def _along(enabled: Callable[[Any], int], states: list[Any], weak: int) -> tuple[int, int]:
    """The weak groups enabled in every state, and the groups enabled in some."""
    always, sometimes = weak, 0
    for t in states:
        en = enabled(t)
        always &= en
        sometimes |= en
    return always, sometimes


def _cycle_states(model: Any, ex: Exploration, start: Any, ring: list[Any]) -> list[Any]:
    """The concrete states of the cycle, by following it once with any step."""
    states = [start]
    cur = start
    for _ in range(48):
        for want in ring:
            nxt = next(
                (u for _a, _l, u in model.successors(cur)[0] if ex.key(u) == want),
                None,
            )
            if nxt is None:
                raise TraceError(
                    "the cycle could not be re-executed: a step of it is not a step of the model"
                )
            cur = nxt
            states.append(cur)
        if cur == start:
            break
    else:
        raise TraceError("the cycle does not return to its concrete start")
    states.pop()  # back at start
    return states


def _round_cycle(
    model: Any, ex: Exploration, prefix: list[Step], ring: list[Any], states: list[Any], needed: int
) -> list[Step]:
    """The prefix, then rounds of the cycle from its first state, choosing
    the steps that add the groups still needed, until none is added."""
    start = states[0]
    steps = list(prefix)
    taken = 0
    for _ in range(2 + bin(needed).count("1")):
        cur, before = start, taken
        for i, want in enumerate(ring * (len(states) // len(ring))):
            succ = model.successors(cur)[0]
            for actor, label, u in succ:  # self-loops a needed group takes
                g = edge_groups_of(model, actor, label)
                if u == cur and g & needed & ~taken:
                    steps.append(Step(actor, label, u))
                    taken |= g
            match = [
                (actor, label, u)
                for actor, label, u in succ
                if ex.key(u) == want and u == states[(i + 1) % len(states)]
            ]
            if not match:
                raise TraceError("the cycle could not be re-executed along its states")
            actor, label, u = max(
                match,
                key=lambda x: bin(edge_groups_of(model, x[0], x[1]) & needed & ~taken).count("1"),
            )
            steps.append(Step(actor, label, u))
            taken |= edge_groups_of(model, actor, label)
            cur = u
        if not needed & ~taken or taken == before:
            break
    return steps
