"""The symbolic relation against the explicit model: from random reachable
states, the solver's solutions are exactly the model's successors (labels
included), and the symbolic properties say what the checks say."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.smt.expr import evaluate
from checker.smt.relation import relation_for
from checker.smt.unroll import Unroller, solutions_from
from model.config import Config
from model.factory import build_model
from specs import properties_of

# Small configurations with different parts of the scheduler in play.
CONFIGS = [
    Config(cores=2, workload="mixed"),
    Config(cores=1, workload="syscall-heavy"),
    Config(cores=2, workload="spawn-burst", mutation="steal-not-atomic"),
]
_UNROLLERS: dict = {}


def setup(cfg: Config):
    if cfg not in _UNROLLERS:
        model = build_model(cfg, symmetry=False)
        props = [p for p in properties_of(model) if p.default and p.check is not None]
        rel = relation_for(model, props)
        _UNROLLERS[cfg] = (model, rel, Unroller(rel), props)
    return _UNROLLERS[cfg]


def random_state(model, data, steps: int) -> bytes:
    """A state reached by `steps` random steps of the explicit model."""
    t = data.draw(st.sampled_from(model.initial_states()))
    for _ in range(steps):
        succ, _ = model.successors(t)
        if not succ:
            break
        t = data.draw(st.sampled_from(succ))[2]
    return t


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.cores}-{c.workload}-{c.mutation}")
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_solutions_are_the_successors(cfg, data):
    model, rel, u, props = setup(cfg)
    t = random_state(model, data, data.draw(st.integers(0, 30)))
    explicit, truncated = model.successors(t)
    symbolic = solutions_from(u, t)
    assert sorted(symbolic) == sorted(set(symbolic)), "one solution found twice"
    assert set(symbolic) == set(explicit)
    assert truncated == any(evaluate(c.guard, t) for c in rel.truncated)
    assert not any(evaluate(c.guard, t) for c in rel.undefined)
    for p in props:
        if p.kind == "invariant":
            assert bool(evaluate(rel.bad[p.id], t)) == (p.check(model, t) is not None), p.id
        elif p.kind == "action":
            for _, label, v in explicit:
                bad = evaluate(rel.bad[p.id], t + v)
                assert bool(bad) == (p.check(model, t, label, v) is not None), p.id
