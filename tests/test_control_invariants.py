"""The control-state invariants (specs/control.py) are auxiliary candidates
for k-induction: each must hold in every reachable state, or a proof built
on it would be wrong. They are checked here on the explicit engine's
reachable states, and each is shown to reject a state it is about."""

from __future__ import annotations

import pytest

from checker.engine.explore import explore
from model.config import Config
from model.factory import build_model
from model.pcs import PC
from model.state import NONE, P_SYSCALL
from specs.control import control_invariants


@pytest.mark.parametrize(
    "cfg, depth",
    [
        (Config(cores=2), 12),
        (Config(cores=3), 12),
        (Config(cores=2, workload="syscall-heavy"), 14),
        (Config(cores=2, steps="macro", period=2, workload="syscall-heavy"), 0),
    ],
)
def test_control_invariants_hold_on_reachable_states(cfg, depth):
    model = build_model(cfg)
    invs = control_invariants(model)
    assert invs
    ex = explore(model, invs, depth=depth, max_states=60000)
    assert len(ex.states) > 100
    assert not ex.violations, {k: v.message for k, v in ex.violations.items()}


def test_each_shape_of_unreachable_state_is_rejected():
    model = build_model(Config(cores=2), symmetry=False)
    L = model.L
    by_id = {p.id: p for p in control_invariants(model)}
    s = bytearray(model.initial_states()[0])
    assert all(p.check(model, bytes(s)) is None for p in by_id.values())
    # An M leaving a system call that also holds another G in transit.
    bad = bytearray(s)
    bad[L.pc[1]] = PC.EXITSYSCALL0
    bad[L.gp[1]] = 0
    assert by_id["g-in-transit-matches-pc"].check(model, bytes(bad))
    # A parked M that still spins.
    bad = bytearray(s)
    bad[L.pc[1]] = PC.PARKED
    bad[L.spinning[1]] = 1
    assert by_id["spinning-matches-pc"].check(model, bytes(bad))
    # A P in a system call that no M in a system call names as its oldp.
    bad = bytearray(s)
    bad[L.p_status[1]] = P_SYSCALL
    assert by_id["syscall-p-has-its-m"].check(model, bytes(bad))
    # Sysmon holding a G.
    bad = bytearray(s)
    bad[L.curg[L.SYSMON]] = 0
    assert by_id["curg-matches-pc"].check(model, bytes(bad))
    assert s[L.curg[L.SYSMON]] == NONE


def test_they_apply_to_the_go125_closed_world_only():
    assert control_invariants(build_model(Config(cores=1, profile="go1.26"))) == []
