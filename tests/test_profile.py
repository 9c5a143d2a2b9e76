"""The go1.26 profile: Go 1.26's system calls without _Psyscall
(model/go126.py), its safety at small depths, and its symmetry."""

from __future__ import annotations

import pytest
from conftest import check, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.engine.explore import explore
from model.config import Config, ConfigError
from model.factory import build_model
from model.go126 import Go126Model
from model.mutations import MUTATIONS
from model.pcs import PC
from model.state import (
    G_RUNNABLE,
    G_RUNNING,
    G_SYSCALL,
    NONE,
    P_IDLE,
    P_RUNNING,
    q_items,
)
from model.workloads import WORKLOADS
from specs import properties_of


def go126(**cfg):
    return build_model(Config(profile="go1.26", **cfg), symmetry=False)


def steps_of(m, t, actor):
    succ, _ = m.successors(t)
    return [(str(label), u) for a, label, u in succ if a == actor]


def only_step(m, t, actor):
    got = steps_of(m, t, actor)
    assert len(got) == 1, got
    return got[0]


def in_syscall(m, s: list[int], mm: int, g: int, p: int) -> None:
    """M mm runs G g on P p and is inside a system call (Go 1.26's layout)."""
    L = m.L
    s[L.g_status[g]] = G_SYSCALL
    s[L.curg[mm]] = g
    s[L.m_p[mm]], s[L.p_m[p]], s[L.p_status[p]] = p, mm, P_RUNNING
    s[L.oldp[mm]] = p
    s[L.pc[mm]] = PC.IN_SYSCALL


def test_entersyscall_keeps_the_p_running_and_wired():
    m = go126(cores=1, workload="syscall-heavy")
    L = m.L
    t = m.initial_states()[0]
    label, t = only_step(m, t, 0)  # go sys
    while not label.startswith("entersyscall"):
        label, t = only_step(m, t, 0)
    assert t[L.g_status[0]] == G_SYSCALL and t[L.pc[0]] == PC.IN_SYSCALL
    assert t[L.p_status[0]] == P_RUNNING and t[L.p_m[0]] == 0 and t[L.m_p[0]] == 0
    assert t[L.oldp[0]] == 0
    assert m.in_syscall(t, 0)


def test_sysmon_takes_the_p_of_a_g_in_a_syscall_and_hands_it_off():
    m = go126(cores=1, workload="syscall-heavy")
    L = m.L
    s = list(m.initial_states()[0])
    in_syscall(m, s, 0, 0, 0)
    s[L.sysc_age[0]] = 1  # sysmon saw this syscall on an earlier pass
    s[L.g_status[1]] = G_RUNNABLE
    s[L.runnext[0]] = 1  # other work: retake at once
    retakes = [(lb, u) for lb, u in steps_of(m, bytes(s), L.SYSMON) if "from syscall" in lb]
    assert len(retakes) == 1
    _, t = retakes[0]
    # setBlockOnExitSyscall + takeP: the P is unwired from M0, whose G stays in the call.
    assert t[L.p_status[0]] == P_IDLE and t[L.p_m[0]] == NONE and t[L.m_p[0]] == NONE
    assert t[L.g_status[0]] == G_SYSCALL and t[L.curg[0]] == 0
    assert t[L.pc[L.SYSMON]] == PC.HANDOFFP and t[L.pp[L.SYSMON]] == 0


def test_preemptone_leaves_a_g_in_a_syscall_alone():
    m = go126(cores=1, workload="syscall-heavy")
    L = m.L
    s = list(m.initial_states()[0])
    in_syscall(m, s, 0, 0, 0)
    s[L.sched_age[0]] = 2  # its schedtick is old: a running G would be preempted
    s[L.sysc_age[0]] = 1
    for label, t in steps_of(m, bytes(s), L.SYSMON):
        assert t[L.g_preempt[0]] == 0, label


def test_exitsyscall_fast_path_keeps_the_p_it_never_lost():
    m = go126(cores=1, workload="syscall-heavy")
    L = m.L
    s = list(m.initial_states()[0])
    in_syscall(m, s, 0, 0, 0)
    label, t = only_step(m, bytes(s), 0)
    assert label.startswith("exitsyscall.fast")
    assert t[L.g_status[0]] == G_RUNNING and t[L.pc[0]] == PC.RUN and t[L.oldp[0]] == NONE


def test_exitsyscall_steals_its_old_p_back_from_another_syscalling_m():
    """sysmon took P0 from M0's syscall and handed it to M1, whose G is now
    in a syscall on it: M0's exitsyscallTryGetP takes P0 back from M1."""
    m = go126(cores=1, workload="syscall-heavy")
    L = m.L
    s = list(m.initial_states()[0])
    s[L.g_status[0]] = G_SYSCALL
    s[L.curg[0]], s[L.m_p[0]], s[L.oldp[0]], s[L.pc[0]] = 0, NONE, 0, PC.IN_SYSCALL
    in_syscall(m, s, 1, 1, 0)
    t = bytes(s)
    label, t = only_step(m, t, 0)
    assert "lost P" in label and t[L.g_status[0]] == G_RUNNING and t[L.m_p[0]] == NONE
    label, t = only_step(m, t, 0)
    assert label.startswith("exitsyscall.oldp") and "from m=1" in label
    assert t[L.m_p[0]] == 0 and t[L.p_m[0]] == 0 and t[L.pc[0]] == PC.RUN
    assert t[L.m_p[1]] == NONE and t[L.g_status[1]] == G_SYSCALL  # M1 lost it
    # M1 returns to find its P gone and no idle one: its G goes to the global queue.
    t = list(t)
    t[L.pc[0]] = PC.PARKED  # keep M0 out of the way
    t = bytes(t)
    for want in ("exitsyscall(", "exitsyscall.oldp", "exitsyscall.pidle", "exitsyscallNoP"):
        label, t = only_step(m, t, 1)
        assert label.startswith(want), label
    assert q_items(t, L.grunq, L.nG) == [1] and t[L.g_status[1]] == G_RUNNABLE


def test_entersyscallblock_hands_the_p_off_before_the_g_enters_the_call():
    m = go126(cores=1, workload="syscall-heavy")
    L = m.L
    s = list(m.initial_states()[0])
    s[L.g_pc[0]] = next(pc for pc, t in enumerate(m.code.text) if t == "syscall-block")
    label, t = only_step(m, bytes(s), 0)
    assert label.startswith("entersyscallblock")
    assert t[L.g_status[0]] == G_RUNNING and t[L.m_p[0]] == NONE  # running without a P
    assert t[L.pc[0]] == PC.HANDOFFP and t[L.ret[0]] == PC.ENTERSYSCALLBLOCK_CAS
    while t[L.pc[0]] != PC.ENTERSYSCALLBLOCK_CAS:
        _, t = only_step(m, t, 0)
    label, t = only_step(m, t, 0)
    assert t[L.g_status[0]] == G_SYSCALL and t[L.pc[0]] == PC.IN_SYSCALL


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_every_workload_keeps_the_safety_properties_on_go126(workload):
    model, ex = check(11, cores=2, workload=workload, profile="go1.26")
    assert isinstance(model, Go126Model)
    assert not ex.violations, {k: v.message for k, v in ex.violations.items()}
    assert len(ex.states) > 100


def test_syscall_heavy_is_safe_to_the_end_on_one_core():
    model, ex = check(0, cores=1, workload="syscall-heavy", profile="go1.26", max_ms=2)
    assert ex.exhausted and not ex.violations
    # The new state: a G _Grunning on an M that holds no P (exitsyscall lost it).
    L = model.L
    assert any(
        s[L.g_status[s[L.curg[m]]]] == G_RUNNING and s[L.m_p[m]] == NONE
        for s in ex.states
        for m in range(L.nM)
        if s[L.curg[m]] != NONE
    )


CAUGHT_ON_GO126 = {  # mutation -> depth of its counterexample on the go1.26 profile
    "exitsyscall-drops-g": 10,
    "exitsyscall0-skips-casgstatus": 16,
    "retake-no-incidlelocked": 11,
    "handoffp-ignores-global-queue": 28,
    "steal-not-atomic": 11,
    "wakep-leaks-nmspinning": 3,
}


@pytest.mark.parametrize("name", sorted(CAUGHT_ON_GO126))
def test_mutations_are_caught_on_go126_too(name):
    mut = MUTATIONS[name]
    at = dict(mut.check_at)
    at.pop("depth")
    depth = CAUGHT_ON_GO126[name]
    _, ex = check(depth, props=list(mut.violates), mutation=name, profile="go1.26", **at)
    assert [p for p in mut.violates if p in ex.violations], f"{name} not caught on go1.26"
    _, ex = check(depth, props=list(mut.violates), profile="go1.26", **at)
    assert not ex.violations


def test_a_mutation_of_the_psyscall_cas_does_not_apply_to_go126():
    with pytest.raises(ConfigError, match="exitsyscall-no-cas"):
        build_model(Config(profile="go1.26", mutation="exitsyscall-no-cas"))
    with pytest.raises(ConfigError, match="unknown profile"):
        Config(profile="go1.99")


@pytest.fixture(scope="module")
def reachable_go126():
    cfg = Config(cores=3, workload="syscall-heavy", profile="go1.26")
    plain = build_model(cfg, symmetry=False)
    return build_model(cfg, symmetry=True), explore(plain, [], depth=16).states


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_canonical_form_ignores_renaming_on_go126(reachable_go126, data):
    model, states = reachable_go126
    L = model.L
    s = data.draw(st.sampled_from(states))
    perm = [data.draw(st.permutations(range(n))) for n in (L.nP, L.nM, L.nG)]
    renamed = model.symmetry.rename(s, *perm)
    assert model.canonical(renamed) == model.canonical(s)
    for p in properties_of(model):
        if p.kind == "invariant":
            assert (p.check(model, s) is None) == (p.check(model, renamed) is None)


def test_symmetric_search_finds_exactly_the_orbits_on_go126():
    cfg = Config(cores=3, workload="syscall-heavy", profile="go1.26")
    plain = build_model(cfg, symmetry=False)
    sym = build_model(cfg, symmetry=True)
    orbits = {sym.canonical(s) for s in explore(plain, [], depth=14).states}
    assert set(explore(sym, [], depth=14).states) == orbits


def test_cli_profile_option(tmp_path):
    code, out, _ = run_cli(
        "--profile", "go1.26", "--cores", "2", "--workload", "syscall-heavy", "--depth", "8",
        "--property", "p-ownership", "--property", "no-lost-g", "--quiet",
        "--out", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0
    assert '"profile": "go1.26"' in out
    code, _, err = run_cli("--profile", "go1.99", "--quiet")
    assert code == 2 and err.count("\n") == 1 and "go1.99" in err
