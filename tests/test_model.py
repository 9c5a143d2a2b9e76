"""The model's steps do what proc.go does: queues, stealing, spinning, syscalls, sysmon."""

from __future__ import annotations

import pytest

from model.config import Config, ConfigError
from model.factory import build_model
from model.pcs import PC
from model.state import (
    G_DEAD,
    G_RUNNABLE,
    G_RUNNING,
    G_SYSCALL,
    G_WAITING,
    NONE,
    P_IDLE,
    P_RUNNING,
    P_SYSCALL,
    q_items,
)
from specs import properties_of


def model(**cfg):
    return build_model(Config(**cfg), symmetry=False)


def steps_of(m, t: bytes, actor: int) -> list[tuple[str, bytes]]:
    """Actor's steps from t: (label, next state), the label as a trace shows it."""
    succ, _ = m.successors(t)
    return [(str(label), u) for a, label, u in succ if a == actor]


def only_step(m, t: bytes, actor: int) -> tuple[str, bytes]:
    got = steps_of(m, t, actor)
    assert len(got) == 1, got
    return got[0]


def run_until(m, t: bytes, actor: int, pc: PC, limit: int = 50) -> bytes:
    """Let `actor` alone take its (deterministic) steps until it reaches pc."""
    for _ in range(limit):
        if t[m.L.pc[actor]] == pc:
            return t
        _, t = only_step(m, t, actor)
    raise AssertionError(f"actor {actor} did not reach {pc.name}")


def test_warm_start_places_goroutines_on_ps_then_the_global_queue():
    m = model(cores=2)
    t = m.initial_states()[0]
    L = m.L
    assert [t[L.p_status[p]] for p in range(2)] == [P_RUNNING, P_RUNNING]
    assert [t[L.curg[a]] for a in range(2)] == [0, 1]
    assert q_items(t, L.grunq, L.nG) == [2, 3]
    assert [t[L.g_status[g]] for g in range(4)] == [G_RUNNING, G_RUNNING, G_RUNNABLE, G_RUNNABLE]


def test_cold_start_leaves_the_other_ps_idle():
    m = model(cores=3, workload="spawn-burst")
    t = m.initial_states()[0]
    assert q_items(t, m.L.pidle, 3) == [2, 1]  # P1 on top: pidleget takes it first


def test_newproc_takes_runnext_and_kicks_the_old_one_to_the_ring():
    m = model(cores=1, workload="spawn-burst")
    L = m.L
    t = m.initial_states()[0]
    label, t = only_step(m, t, 0)
    assert label.startswith("newproc")
    assert t[L.runnext[0]] == 1 and t[L.pc[0]] == PC.WAKEP_CAS
    t = run_until(m, t, 0, PC.RUN)
    label, t = only_step(m, t, 0)
    assert t[L.runnext[0]] == 2 and t[L.gp[0]] == 1  # G1 kicked out, in M0's hands
    label, t = only_step(m, t, 0)
    assert label.startswith("runqput.ring")
    assert q_items(t, L.runq[0], L.C) == [1]


def test_full_ring_spills_half_plus_one_to_the_global_queue():
    m = model(cores=1, workload="spawn-burst", max_ms=1)
    L = m.L
    s = list(m.initial_states()[0])
    s[L.runq[0]], s[L.runq[0] + 1] = 1, 2  # ring full (capacity 2)
    s[L.runnext[0]] = 3
    for g in (1, 2, 3):
        s[L.g_status[g]] = G_RUNNABLE
    s[L.gp[0]] = 3  # runnext G3 was just kicked by a newproc of G4
    s[L.runnext[0]] = 4
    s[L.g_status[4 - 1]] = G_RUNNABLE
    s[L.pc[0]] = PC.RUNQPUT_RING
    s[L.ret[0]] = PC.RUN
    label, t = only_step(m, bytes(s), 0)
    assert label.startswith("runqputslow.grab")
    assert q_items(t, L.batch[0], L.B) == [1, 3]  # ring/2 oldest + the kicked G
    assert q_items(t, L.runq[0], L.C) == [2]
    _, t = only_step(m, t, 0)
    assert q_items(t, L.grunq, L.nG) == [1, 3]


@pytest.mark.parametrize(
    "size,cores,ring,want", [(4, 2, 4, 2), (1, 2, 4, 1), (3, 2, 8, 2), (4, 1, 8, 4), (4, 4, 8, 2)]
)
def test_globrunqgetbatch_takes_min_of_half_ring_size_and_fair_share(size, cores, ring, want):
    m = model(cores=cores, ring=ring, workload="spawn-burst")
    s = list(m.L.blank())
    for i in range(size):
        s[m.L.grunq + i] = i % m.L.nG
    assert len(m.globrunqgetbatch(s, ring // 2)) == want
    assert want == min(ring // 2, size, size // cores + 1)


def test_runqgrab_steals_half_of_the_ring_rounding_up():
    m = model(cores=2, ring=4, workload="spawn-burst")
    L = m.L
    s = list(L.blank())
    s[L.runq[1] : L.runq[1] + 3] = [1, 2, 3]
    assert m.runqgrab(s, 1) == [1, 2]
    assert q_items(s, L.runq[1], L.C) == [3]
    s = list(L.blank())
    s[L.runnext[1]] = 2
    assert m.runqgrab(s, 1) == [] and s[L.runnext[1]] == 2


def thief_at_last_pass(m):
    """M1 holds P1 and spins in stealWork's last pass, P0 left to visit; M0
    runs G0 on P0 with G1 in runnext and an empty ring."""
    L = m.L
    s = list(m.initial_states()[0])
    s[L.runnext[0]] = 1
    s[L.g_status[1]] = G_RUNNABLE
    q = q_items(s, L.pidle, L.nP)
    s[L.pidle : L.pidle + L.nP] = [NONE] * L.nP
    assert q == [1]
    m.acquirep(s, 1, 1)
    s[L.pc[1]] = PC.FR_STEAL
    s[L.spinning[1]] = 1
    s[L.nmspinning] = 1
    s[L.steal_pass[1]] = m.cfg.steal_tries - 1
    return s


def test_runnext_steal_reads_then_cases_and_the_ring_may_fill_in_between():
    m = model(cores=2, ring=4, workload="spawn-burst")
    L = m.L
    s = thief_at_last_pass(m)
    label, t = only_step(m, bytes(s), 1)
    assert label.startswith("stealWork.runnext-read(") and t[L.pc[1]] == PC.FR_STEAL_RUNNEXT
    assert t[L.runnext[0]] == 1, "the read takes nothing"
    # Meanwhile (runqgrab sleeps) the owner runs G1, which readies G2 to the
    # ring and G1 is readied into runnext again: the CAS sees the same G.
    u = list(t)
    u[L.g_status[2]] = G_RUNNABLE
    u[L.runq[0]] = 2
    label, v = only_step(m, bytes(u), 1)
    assert label == "stealWork(m=1, p=1, victim=0, gs=[1], runnext)"
    assert v[L.gp[1]] == 1 and v[L.runnext[0]] == NONE
    assert q_items(v, L.runq[0], L.C) == [2], "the ring is not looked at again"
    assert all(p.check(m, v) is None for p in properties_of(m) if p.kind == "invariant" and p.check)


def test_a_failed_runnext_cas_starts_runqgrab_over_on_the_same_victim():
    m = model(cores=2, ring=4, workload="spawn-burst")
    L = m.L
    _, t = only_step(m, bytes(thief_at_last_pass(m)), 1)
    # runnext now holds another G: the CAS fails and runqgrab reads again.
    u = list(t)
    u[L.g_status[2]] = G_RUNNABLE
    u[L.runnext[0]] = 2
    u[L.g_status[1]] = G_RUNNING
    label, v = only_step(m, bytes(u), 1)
    assert "failed, read g=2" in label and v[L.pc[1]] == PC.FR_STEAL_RUNNEXT
    assert v[L.steal_next[1]] == 2 and v[L.steal_victim[1]] == 0
    # The owner took G2 and put G3 on its ring: the retry steals from the ring.
    w = list(v)
    w[L.runnext[0]] = NONE
    w[L.g_status[3]] = G_RUNNABLE
    w[L.runq[0]] = 3
    label, x = only_step(m, bytes(w), 1)
    assert label == "stealWork(m=1, p=1, victim=0, gs=[3], runnext cas failed)"
    # Nothing at all: on to the end of the pass (the last one), and the P is dropped.
    w[L.runq[0]] = NONE
    label, x = only_step(m, bytes(w), 1)
    assert "none" in label and x[L.pc[1]] == PC.FR_DROP and x[L.gp[1]] == NONE


def test_execute_advances_schedtick_unless_the_g_inherits_the_slice():
    m = model(cores=1, workload="spawn-burst")
    L = m.L
    s = list(m.initial_states()[0])
    s[L.curg[0]] = NONE
    s[L.g_status[0]] = G_RUNNABLE
    s[L.sched_age[0]] = 2
    for inherit, tick in ((1, 0), (0, 1)):
        u = list(s)
        u[L.gp[0]] = 0
        u[L.inherit[0]] = inherit
        u[L.pc[0]] = PC.EXEC
        _, t = only_step(m, bytes(u), 0)
        assert t[L.schedtick[0]] == tick
        assert t[L.sched_age[0]] == (2 if inherit else 0)


def test_findrunnable_checks_the_global_queue_first_every_period_ticks():
    m = model(cores=1, workload="spawn-burst", period=3)
    L = m.L
    s = list(m.initial_states()[0])
    s[L.curg[0]] = NONE
    s[L.pc[0]] = PC.SCHEDULE
    s[L.g_status[0]] = G_DEAD
    s[L.runnext[0]] = 1
    s[L.g_status[1]] = G_RUNNABLE
    s[L.grunq] = 2
    s[L.g_status[2]] = G_RUNNABLE
    for tick, want in ((0, 2), (1, 1), (3 % 3, 2)):
        u = list(s)
        u[L.schedtick[0]] = tick
        t = bytes(u)
        while t[L.pc[0]] != PC.EXECUTE:
            _, t = only_step(m, t, 0)
        assert t[L.gp[0]] == want, (tick, want)


def test_wakep_wakes_nobody_while_an_m_spins():
    m = model(cores=2, workload="spawn-burst")
    L = m.L
    s = list(m.initial_states()[0])
    s[L.pc[0]], s[L.ret[0]] = PC.WAKEP_CAS, PC.RUN
    s[L.nmspinning] = 1
    label, t = only_step(m, bytes(s), 0)
    assert "no" in label and t[L.pc[0]] == PC.RUN and t[L.nmspinning] == 1
    s[L.nmspinning] = 0
    label, t = only_step(m, bytes(s), 0)
    assert t[L.nmspinning] == 1 and t[L.pc[0]] == PC.WAKEP_PIDLE


def test_pidlegetspinning_sets_needspinning_and_a_dropping_m_keeps_its_p():
    m = model(cores=2, workload="spawn-burst")
    L = m.L
    s = list(L.blank())
    assert m.pidlegetSpinning(s) == NONE and s[L.needspinning] == 1
    s = list(m.initial_states()[0])
    s[L.curg[0]] = NONE
    s[L.g_status[0]] = G_DEAD
    s[L.pidle] = NONE  # no idle P
    s[L.pc[0]] = PC.FR_DROP
    s[L.needspinning] = 1
    label, t = only_step(m, bytes(s), 0)
    assert "needspinning" in label
    assert t[L.m_p[0]] == 0 and t[L.spinning[0]] == 1 and t[L.needspinning] == 0
    assert t[L.nmspinning] == 1 and t[L.pc[0]] == PC.SCHEDULE


def test_spinning_m_decrements_before_it_rechecks():
    m = model(cores=2, workload="spawn-burst")
    L = m.L
    s = list(m.initial_states()[0])
    s[L.curg[0]] = NONE
    s[L.g_status[0]] = G_DEAD
    s[L.spinning[0]] = 1
    s[L.nmspinning] = 1
    s[L.pc[0]] = PC.FR_DROP
    _, t = only_step(m, bytes(s), 0)
    assert t[L.pc[0]] == PC.FR_SPIN_DOWN and t[L.p_status[0]] == P_IDLE
    _, t = only_step(m, t, 0)
    assert t[L.nmspinning] == 0 and t[L.pc[0]] == PC.FR_RECHECK_GLOBAL


def test_sysmon_preempts_only_after_two_passes_with_progress_between():
    m = model(cores=1, workload="tight-loop")
    L = m.L
    t = m.initial_states()[0]
    (label, t) = [x for x in steps_of(m, t, L.SYSMON)][0]
    assert t[L.sched_age[0]] == 1
    assert steps_of(m, t, L.SYSMON) == []  # nothing ran since: no preemption yet
    label, t = only_step(m, t, 0)  # main runs one step
    assert t[L.sched_age[0]] == 2
    (label, t) = steps_of(m, t, L.SYSMON)[0]
    assert "preempt" in label and t[L.g_preempt[t[L.curg[0]]]] == 1


def test_exitsyscall_fast_path_takes_the_old_p_back():
    m = model(cores=1, workload="syscall-heavy")
    L = m.L
    s = list(m.initial_states()[0])
    s[L.g_status[0]] = G_SYSCALL
    s[L.p_status[0]], s[L.p_m[0]] = P_SYSCALL, NONE
    s[L.m_p[0]], s[L.oldp[0]] = NONE, 0
    s[L.pc[0]] = PC.IN_SYSCALL
    label, t = only_step(m, bytes(s), 0)
    assert label.startswith("exitsyscall.fast") and t[L.m_p[0]] == 0
    assert t[L.p_status[0]] == P_RUNNING and t[L.g_status[0]] == G_RUNNING


def test_exitsyscall_slow_path_queues_the_g_globally_and_parks():
    m = model(cores=1, workload="syscall-heavy")
    L = m.L
    s = list(m.initial_states()[0])
    s[L.g_status[0]] = G_SYSCALL
    s[L.p_status[0]], s[L.p_m[0]] = P_IDLE, NONE  # retaken by sysmon, handed off
    s[L.pp[L.SYSMON]] = 0
    s[L.pc[L.SYSMON]], s[L.ret[L.SYSMON]] = PC.HANDOFFP_LOCK, PC.SYSMON
    s[L.m_p[0]], s[L.oldp[0]] = NONE, 0
    s[L.pc[0]] = PC.IN_SYSCALL
    t = bytes(s)
    for want in ("exitsyscall.fast", "exitsyscall.pidle", "exitsyscall0", "stopm"):
        label, t = only_step(m, t, 0)
        assert label.startswith(want), label
    assert q_items(t, L.grunq, L.nG) == [0] and t[L.g_status[0]] == G_RUNNABLE
    assert t[L.pc[0]] == PC.PARKED


def test_park_with_a_pending_wakeup_does_not_block():
    m = model(cores=1)
    L = m.L
    s = list(m.initial_states()[0])
    pc_park = next(pc for pc, op in enumerate(m.code.ops) if op == 4)  # park
    s[L.g_pc[0]] = pc_park
    sema = m.code.args[pc_park]
    s[L.sema + sema] = 1
    label, t = only_step(m, bytes(s), 0)
    assert label.startswith("park.pending") and t[L.sema + sema] == 0
    assert t[L.g_status[0]] == G_RUNNING
    s[L.sema + sema] = 0
    label, t = only_step(m, bytes(s), 0)
    assert label.startswith("gopark") and t[L.g_status[0]] == G_WAITING
    assert t[L.curg[0]] == NONE and t[L.pc[0]] == PC.SCHEDULE


def test_bad_configurations_are_usage_errors():
    for bad in ({"cores": 0}, {"cores": -1}, {"ring": 0}, {"period": 0}, {"cores": 9}):
        with pytest.raises(ConfigError):
            Config(**bad)
    for ring in (1, 3, 6, 32):  # Go's ring is a power of two; 1 makes the global batch empty
        with pytest.raises(ConfigError, match="power of two"):
            Config(ring=ring)
    with pytest.raises(ConfigError, match="--max-ms 2 is below the 4 threads"):
        build_model(Config(cores=4, max_ms=2))  # mixed starts four goroutines running
    with pytest.raises(ConfigError):
        build_model(Config(workload="nope"))
    with pytest.raises(ConfigError):
        build_model(Config(mutation="nope"))
