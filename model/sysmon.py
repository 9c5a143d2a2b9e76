"""sysmon: the M without a P that preempts long-running G's and retakes Ps
blocked in system calls (proc.go sysmon, retake, preemptone; Go 1.25).

Time is abstract: "10 ms passed" is "sysmon saw the same tick on two
passes". sysmon keeps, per P, what it saw:

    sched_age  0: the P's schedtick moved since sysmon's last pass
               1: sysmon's pass recorded this schedtick
               2: ... and the P's G has run since (a step of user code); on
                  its next pass sysmon finds the same G (or runnext chain)
                  has had the P for forcePreemptNS and preempts it. Asking
                  for a step of user code in between keeps the model from
                  preempting a G before it ran at all (a time slice of
                  zero length).
    sysc_age   0: the P's syscalltick moved since sysmon's last pass
               1: a pass recorded it (the P has been in the system call for
                  at least one sysmon tick, 20us)
               2: sysmon skipped retaking it for want of other work; next
                  time it counts as "for 10ms" and is retaken anyway

A pass (`sysmon.retake`'s loop over allp) is one step: it records the
ticks of every P and asks the G's that have run a whole time slice to
yield. Taking a P out of a system call is a step of its own, per P, since
it drops allpLock, CASes the P's status and runs handoffp.
"""

from __future__ import annotations

from model.action import Action, Refs, Value
from model.machine import choices, foldable, step
from model.pcs import PC
from model.queues import Queues
from model.state import NONE, P_IDLE, P_RUNNING, P_SYSCALL


class Sysmon(Queues):
    @choices(PC.SYSMON)
    def sysmon_choices(self, t: bytes, a: int) -> list[int]:
        """NONE for a pass (when it would change something), and each P in a
        system call that sysmon may retake."""
        L = self.L
        out = [NONE] if self.pass_would_act(t) else []
        if self.may_be_in_syscall(t):  # rare: skip the per-P look otherwise
            for p in range(L.nP):
                if self.syscall_seen(t, p):
                    out.append(p)
        return out

    def may_be_in_syscall(self, t: bytes) -> bool:
        """Go 1.25: some P is _Psyscall. The go1.26 profile answers from the
        Gs' statuses (model/go126.py)."""
        return P_SYSCALL in self.L.p_statuses(t)

    def in_syscall(self, t: bytes | list[int], p: int) -> bool:
        """Go 1.25: the P is _Psyscall (its M left it there in entersyscall).
        The go1.26 profile (model/go126.py) answers from the G's status."""
        return t[self.L.p_status[p]] == P_SYSCALL

    def runs_user_code(self, t: bytes | list[int], p: int) -> bool:
        """The P is _Prunning and its G is not in a system call: preemptone
        can ask that G to yield."""
        return t[self.L.p_status[p]] == P_RUNNING and not self.in_syscall(t, p)

    @foldable
    def syscall_seen(self, t: bytes, p: int) -> bool:
        """P p is in a system call that a pass has seen: sysmon may retake it."""
        L = self.L
        return self.in_syscall(t, p) and (t[L.sysc_age[p]] != 0 or t[L.sched_age[p]] != 0)

    @foldable
    def pass_would_act(self, t: bytes) -> bool:
        L = self.L
        for p in range(L.nP):
            st = t[L.p_status[p]]
            if st == P_IDLE:
                continue
            age = t[L.sched_age[p]]
            if age == 0 or (self.in_syscall(t, p) and t[L.sysc_age[p]] == 0):
                return True
            if age == 2 and self.runs_user_code(t, p):
                g = t[L.curg[t[L.p_m[p]]]]
                if g != NONE and not t[L.g_preempt[g]]:
                    return True
        return False

    @step(PC.SYSMON)
    def sysmon(self, s: list[int], a: int, p: int) -> Action:
        if p == NONE:
            return self.retake_pass(s)
        return self.retake_syscall(s, a, p)

    def retake_pass(self, s: list[int]) -> Action:
        """retake(now), the loop over allp, for the Ps sysmon only looks at:
        for _Prunning and _Psyscall Ps a schedtick not seen before is recorded
        (pd.schedtick, pd.schedwhen); one seen on an earlier pass, with the
        G having run since, has had the P for 10ms: preemptone(pp). For
        _Psyscall, a syscalltick not seen before is recorded."""
        L = self.L
        seen, preempted = [], []
        for p in range(L.nP):
            saw, g = self.retake_look(s, p)
            if saw:
                seen.append(p)
            if g != NONE:
                preempted.append((p, g))
        parts: dict[str, Value] = {}
        if seen:
            parts["seen"] = Refs.each("P", seen)
        if preempted:
            parts["preempt"] = Refs.pairs(("P", "G"), preempted)
        return Action("sysmon.retake", **parts).joined_by("; ")

    @foldable
    def retake_look(self, s: list[int], p: int) -> tuple[bool, int]:
        """One P of the pass: whether a new schedtick or syscalltick was
        recorded, and the G asked to yield (preemptone), or NONE."""
        L = self.L
        st = s[L.p_status[p]]
        saw, g = False, NONE
        if st == P_IDLE:
            return saw, g
        if s[L.sched_age[p]] == 0:
            s[L.sched_age[p]] = 1
            saw = True
        elif s[L.sched_age[p]] == 2 and self.runs_user_code(s, p):
            g = s[L.curg[s[L.p_m[p]]]]
            if g != NONE and not s[L.g_preempt[g]]:
                self.preemptone(s, p)
            else:
                g = NONE
        if self.in_syscall(s, p) and s[L.sysc_age[p]] == 0:
            s[L.sysc_age[p]] = 1
            saw = True
        return saw, g

    def retake_syscall(self, s: list[int], a: int, p: int) -> Action:
        """retake(now) for a P in a system call that sysmon has seen before:
        "On the one hand we don't want to retake Ps if there is no other
        work to do, but on the other hand we want to retake them
        eventually": skip while `runqempty(pp) && nmspinning + npidle > 0`
        and under 10ms. Otherwise incidlelocked(-1) (sysmon counts as a
        running M until the hand-off is done, see no-checkdead);
        CAS(&pp.status, _Psyscall, _Pidle); pp.syscalltick++; handoffp(pp)."""
        L = self.L
        no_other_work = self.runqempty(s, p) and s[L.nmspinning] + self.npidle(s) > 0
        if no_other_work and s[L.sysc_age[p]] == 1:
            s[L.sysc_age[p]] = 2
            return Action("sysmon.retake", p=p).flag("no other work").flag("wait")
        return self.retake_handoff(s, a, p)

    def retake_handoff(self, s: list[int], a: int, p: int) -> Action:
        """retake, once it decided: take the P (retake_takep), pp.syscalltick++,
        handoffp(pp); sysmon then goes on with its loop."""
        L = self.L
        self.retake_takep(s, p)
        s[L.sysc_age[p]] = 0  # pp.syscalltick++
        s[L.pp[a]] = p
        self.call(s, a, PC.HANDOFFP, PC.SYSMON)
        return Action("sysmon.retake", p=p).flag("from syscall")

    def retake_takep(self, s: list[int], p: int) -> None:
        """Go 1.25: CAS(&pp.status, _Psyscall, _Pidle); nobody owns the P."""
        s[self.L.p_status[p]] = P_IDLE

    def preemptone(self, s: list[int], p: int) -> None:
        """preemptone(pp): gp.preempt = true; gp.stackguard0 = stackPreempt;
        and with async preemption, pp.preempt = true; preemptM(mp) (the
        signal is a step of the M: model/goroutine.py asyncPreempt)."""
        L = self.L
        g = s[L.curg[s[L.p_m[p]]]]
        s[L.g_preempt[g]] = 1
