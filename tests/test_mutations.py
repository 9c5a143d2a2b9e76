"""Every mutation is caught by the property it declares, at the configuration
its registry entry states; Go's scheduler passes there; benign variants pass."""

from __future__ import annotations

import pytest
from conftest import check, check_all

from checker.engine.trace import rebuild
from model.mutations import MUTATIONS
from specs import properties_of
from specs.liveness import LIVENESS_PROPERTIES
from specs.property import ACTION

BUGS = [m for m in MUTATIONS.values() if not m.benign]
LIVENESS_IDS = {p.id for p in LIVENESS_PROPERTIES}
BENIGN = [m for m in MUTATIONS.values() if m.benign]


def _config(mut):
    at = dict(mut.check_at)
    depth = at.pop("depth")
    return depth, at


SAFETY_BUGS = [m for m in BUGS if not set(m.violates) & LIVENESS_IDS]
LIVENESS_BUGS = [m for m in BUGS if set(m.violates) & LIVENESS_IDS]


@pytest.mark.parametrize("mut", SAFETY_BUGS, ids=lambda m: m.name)
def test_mutation_is_caught_by_its_property(mut):
    depth, at = _config(mut)
    model, ex = check(depth, props=list(mut.violates), mutation=mut.name, **at)
    caught = [p for p in mut.violates if p in ex.violations]
    assert caught, f"{mut.name} not caught at {mut.check_at}"
    prop = next(p for p in properties_of(model) if p.id == caught[0])
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


@pytest.mark.parametrize("mut", SAFETY_BUGS, ids=lambda m: m.name)
def test_go_scheduler_passes_where_the_mutation_fails(mut):
    depth, at = _config(mut)
    _, ex = check(depth, props=list(mut.violates), **at)
    assert not ex.violations, ex.violations


@pytest.mark.parametrize("mut", LIVENESS_BUGS, ids=lambda m: m.name)
def test_liveness_mutation_gives_a_re_executed_lasso(mut):
    depth, at = _config(mut)
    model, run = check_all(depth, props=list(mut.violates), mutation=mut.name, **at)
    failed = [v for v in run.liveness.values() if v.verdict == "fail"]
    assert failed, {k: v.verdict for k, v in run.liveness.items()}
    v = failed[0]
    assert v.loop is not None and v.steps
    # The lasso is a run of the model: every step a successor, and the last
    # step leads back to the loop's first state (or the run stutters there).
    for a, b in zip(v.steps, v.steps[1:], strict=False):
        assert (b.actor, b.label, b.state) in model.successors(a.state)[0]
    if not v.lasso.stutter:
        back = [
            u for _, lb, u in model.successors(v.steps[-1].state)[0] if str(lb) == v.loop_action
        ]
        assert v.steps[v.loop].state in back


@pytest.mark.parametrize("mut", LIVENESS_BUGS, ids=lambda m: m.name)
def test_go_scheduler_and_liveness_mutations(mut):
    """Go's scheduler passes where the mutation fails, except where the
    registry says Go fails too (and why)."""
    depth, at = _config(mut)
    _, run = check_all(depth, props=list(mut.violates), **at)
    verdicts = {k: v.verdict for k, v in run.liveness.items()}
    if mut.go_also_violates:
        assert "fail" in verdicts.values(), verdicts
    else:
        assert set(verdicts.values()) == {"pass"}, verdicts


@pytest.mark.parametrize("mut", BENIGN, ids=lambda m: m.name)
def test_benign_variant_is_not_reported(mut):
    depth, at = _config(mut)
    model, ex = check(depth, mutation=mut.name, **at)
    assert not ex.violations, {k: v.message for k, v in ex.violations.items()}
    assert len(ex.states) > 1000  # it explored something real


def test_every_property_but_deadlock_has_a_mutation_that_violates_it():
    from specs import all_properties

    for p in all_properties():
        if p.id in ("deadlock", "termination") or not p.default:
            continue
        assert p.violated_by, f"no mutation violates {p.id}"


CLAIMS = [
    (m, prop, at) for m in BUGS for props, at in m.checks() for prop in props
]  # fmt: skip


@pytest.mark.parametrize(
    "mut, prop, at",
    CLAIMS,
    ids=lambda x: x.name if hasattr(x, "name") else (x if isinstance(x, str) else ""),
)
def test_every_claimed_violation_is_caught(mut, prop, at):
    """Each property a registry entry names fails at the configuration it
    names: no claim in `python -m checker list` is only a claim."""
    cfg = dict(at)
    depth = cfg.pop("depth")
    _, run = check_all(depth, props=[prop], mutation=mut.name, **cfg)
    if prop in LIVENESS_IDS:
        assert run.liveness[prop].verdict == "fail", run.liveness[prop].reason
    else:
        assert prop in run.ex.violations, f"{mut.name} does not violate {prop} at {at}"


def test_registry_entries_are_documented():
    for m in MUTATIONS.values():
        assert m.summary and m.history and "depth" in m.check_at
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
    prop = next(p for p in properties_of(model) if p.id == "work-conservation-strict")
    steps = rebuild(model, ex, v, prop)
    labels = [str(s.label) for s in steps]
    assert any(lb.startswith("handoffp.spinning(sysmon") and "not needed" in lb for lb in labels)
    assert any(lb.startswith("wakep.pidlegetSpinning") and "none" in lb for lb in labels)
    assert labels[-1].startswith("handoffp.pidleput(sysmon")
    last = steps[-1].state
    assert last[model.L.needspinning] == 1
