"""Every mutation is caught by the property it declares, at the configuration
its registry entry states; Go's scheduler passes there; benign variants pass."""

from __future__ import annotations

import pytest
from conftest import check

from checker.trace import rebuild
from model.mutations import MUTATIONS
from specs.property import ACTION

BUGS = [m for m in MUTATIONS.values() if not m.benign]
BENIGN = [m for m in MUTATIONS.values() if m.benign]


def _config(mut):
    at = dict(mut.check_at)
    depth = at.pop("depth")
    return depth, at


@pytest.mark.parametrize("mut", BUGS, ids=lambda m: m.name)
def test_mutation_is_caught_by_its_property(mut):
    depth, at = _config(mut)
    model, ex = check(depth, props=list(mut.violates), mutation=mut.name, **at)
    caught = [p for p in mut.violates if p in ex.violations]
    assert caught, f"{mut.name} not caught at {mut.check_at}"
    prop = next(p for p in model.properties() if p.id == caught[0])
    v = ex.violations[caught[0]]
    assert v.depth <= depth
    # The counterexample is a real run of the mutated model: rebuilt by
    # re-executing every step, and its last state (or step) violates.
    steps = rebuild(model, ex, v, prop)
    assert len(steps) - 1 == v.depth + (1 if prop.kind == ACTION else 0)
    if prop.kind == ACTION:
        assert prop.check(model, steps[-2].state, steps[-1].label, steps[-1].state)
    else:
        assert prop.check(model, steps[-1].state)
        assert all(prop.check(model, s.state) is None for s in steps[:-1])


@pytest.mark.parametrize("mut", BUGS, ids=lambda m: m.name)
def test_go_scheduler_passes_where_the_mutation_fails(mut):
    depth, at = _config(mut)
    _, ex = check(depth, props=list(mut.violates), **at)
    assert not ex.violations, ex.violations


@pytest.mark.parametrize("mut", BENIGN, ids=lambda m: m.name)
def test_benign_variant_is_not_reported(mut):
    depth, at = _config(mut)
    model, ex = check(depth, mutation=mut.name, **at)
    assert not ex.violations, {k: v.message for k, v in ex.violations.items()}
    assert len(ex.states) > 1000  # it explored something real


def test_every_property_but_deadlock_has_a_mutation_that_violates_it():
    from specs import all_properties

    for p in all_properties():
        if p.id == "deadlock" or not p.default:
            continue
        assert p.violated_by, f"no mutation violates {p.id}"


def test_registry_entries_are_documented():
    for m in MUTATIONS.values():
        assert m.summary and m.history and m.check_at.get("depth")
        assert m.model.__doc__ and m.model.mutation_name == m.name
        if not m.benign:
            assert m.violates


def test_go_1_25_does_not_meet_strict_work_conservation():
    """docs/findings.md: handoffp idles a P while needspinning asks for a
    spinning M, and the work waits on a busy P. The checker shows it at the
    canonical configuration."""
    model, ex = check(12, props=["work-conservation-strict"], cores=4)
    v = ex.violations["work-conservation-strict"]
    assert v.depth == 9
    prop = next(p for p in model.properties() if p.id == "work-conservation-strict")
    steps = rebuild(model, ex, v, prop)
    labels = [s.label for s in steps]
    assert any(lb.startswith("handoffp.spinning(sysmon") and "not needed" in lb for lb in labels)
    assert any(lb.startswith("wakep.pidlegetSpinning") and "none" in lb for lb in labels)
    assert labels[-1].startswith("handoffp.pidleput(sysmon")
    last = steps[-1].state
    assert last[model.L.needspinning] == 1
