"""sysmon: the M without a P that preempts long-running G's and retakes Ps
blocked in system calls (proc.go sysmon, retake, preemptone; Go 1.25).

Time is abstract. sysmon keeps, per P, how long it has seen the same tick:

    sched_age  0: the P's schedtick moved since sysmon last looked
               1: sysmon has seen this schedtick once
               2: ... and the P's G has run since (a step of user code): on
                  its next look sysmon finds the same G (or runnext chain)
                  has had the P for forcePreemptNS (10ms) and preempts it.
                  Requiring a step of user code in between keeps the model
                  from preempting a G before it ran at all, which would be
                  a time slice of zero length.
    sysc_age   0: the P's syscalltick moved since sysmon last looked
               1: seen once (>= 1 sysmon tick, 20us): the P may be retaken if
                  there is other work to do
               2: seen long enough (10ms): retaken even with nothing to do

Each visit of sysmon to a P is one step, in any order and at any time
(sysmon's sleeps and the 10ms are not modelled beyond "seen before"); a
visit that would change nothing is not a step.
"""

from __future__ import annotations

from model.machine import choices, step
from model.pcs import PC
from model.queues import Queues
from model.state import NONE, P_IDLE, P_RUNNING, P_SYSCALL


class Sysmon(Queues):
    @choices(PC.SYSMON)
    def sysmon_choices(self, t: bytes, a: int) -> list[int]:
        return [p for p in range(self.L.nP) if self.retake_would_act(t, p)]

    def retake_would_act(self, t: bytes, p: int) -> bool:
        L = self.L
        st = t[L.p_status[p]]
        if st == P_IDLE:
            return False
        if t[L.sched_age[p]] == 0:
            return True  # records the schedtick
        if st == P_RUNNING:
            if t[L.sched_age[p]] == 1:
                return False  # nothing ran since the last look
            m = t[L.p_m[p]]
            g = t[L.curg[m]]
            return g != NONE and t[L.g_preempt[g]] == 0
        return True  # a P in a syscall, seen before: its age moves or it is retaken

    @step(PC.SYSMON)
    def retake(self, s: list[int], a: int, p: int) -> str:
        """retake(now), for one P:
        - _Prunning or _Psyscall: a schedtick not seen before is recorded;
          one seen before means the same G (or runnext chain) has run for
          10ms: preemptone(pp) (for _Psyscall that does nothing, but it
          sets sysretake).
        - _Psyscall: retake "if it's there for more than 1 sysmon tick"
          unless there is no other work (`runqempty(pp) && nmspinning +
          npidle > 0`) and it has been less than 10ms; then
          CAS(&pp.status, _Psyscall, _Pidle); pp.syscalltick++;
          handoffp(pp)."""
        L = self.L
        st = s[L.p_status[p]]
        sysretake = False
        if s[L.sched_age[p]] == 0:
            s[L.sched_age[p]] = 1
            if st == P_RUNNING:
                return f"sysmon.observe(p={p})"
        elif st == P_RUNNING:
            return self.preemptone(s, p)  # sched_age == 2
        else:
            sysretake = True
        # _Psyscall.
        if not sysretake and s[L.sysc_age[p]] == 0:
            s[L.sysc_age[p]] = 1
            return f"sysmon.observe-syscall(p={p})"
        no_other_work = self.runqempty(s, p) and s[L.nmspinning] + self.npidle(s) > 0
        if no_other_work and s[L.sysc_age[p]] == 1:
            s[L.sysc_age[p]] = 2
            return f"sysmon.observe-syscall(p={p}, no other work)"
        assert st == P_SYSCALL
        s[L.p_status[p]] = P_IDLE  # CAS(&pp.status, _Psyscall, _Pidle)
        s[L.sysc_age[p]] = 0  # pp.syscalltick++
        s[L.pp[a]] = p
        self.call(s, a, PC.HANDOFFP, PC.SYSMON)
        return f"sysmon.retake(p={p})"

    def preemptone(self, s: list[int], p: int) -> str:
        """preemptone(pp): gp.preempt = true; gp.stackguard0 = stackPreempt;
        and with async preemption, pp.preempt = true; preemptM(mp) (the
        signal is a step of the M: model/goroutine.py asyncPreempt)."""
        L = self.L
        m = s[L.p_m[p]]
        g = s[L.curg[m]]
        s[L.g_preempt[g]] = 1
        return f"sysmon.preemptone(p={p}, m={m}, g={g})"
