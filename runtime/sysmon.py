"""sysmon (model/sysmon.py, step for step): retake's passes over allp, which
record the ticks they see and preempt G's that have had their P for a
whole time slice, and the retake of a P blocked in a system call.

sysmon is a thread of its own. It keeps, as Go does, what it saw of each P
in pp.sysmontick; its clock is the model's (runtime/objects.py SysmonTick),
so that a free run can be checked against the model step by step. In a
free run it sleeps between steps (Go: 20us to 10ms).
"""

from __future__ import annotations

from model.machine import choices, step
from model.pcs import PC
from model.state import P_IDLE, P_RUNNING, P_SYSCALL
from runtime.locks import Unit
from runtime.machine import plan
from runtime.queues import Queues


class Sysmon(Queues):
    # ---- what sysmon saw: the model's sched_age and sysc_age -------------------

    def sched_age(self, p: int) -> int:
        """0: the P's schedtick moved since sysmon's last look; 1: sysmon
        recorded it; 2: and the P's G has run user code since (10ms passed)."""
        pp = self.allp[p]
        pd = pp.sysmontick
        if pd.schedtick != pp.schedtick:
            return 0
        return 2 if pp.userticks > pd.schedwhen else 1

    def syscall_age(self, p: int) -> int:
        """0: the syscalltick moved since sysmon's last look; 1: recorded;
        2: sysmon already let the P stay in its system call once."""
        pp = self.allp[p]
        pd = pp.sysmontick
        if pd.syscalltick != pp.syscalltick:
            return 0
        return 2 if pd.syscallwait else 1

    # ---- choices and plans ----------------------------------------------------------

    @choices(PC.SYSMON)
    def sysmon_choices(self, a: int) -> list[int | None]:
        """None for a pass (when it would change something), and each P in a
        system call that sysmon may retake."""
        out: list[int | None] = [None] if self.pass_would_act() else []
        for p in range(len(self.allp)):
            if self.allp[p].status.load() == P_SYSCALL and (
                self.syscall_age(p) or self.sched_age(p)
            ):
                out.append(p)
        return out

    def pass_would_act(self) -> bool:
        for p, pp in enumerate(self.allp):
            st = pp.status.load()
            if st == P_IDLE:
                continue
            age = self.sched_age(p)
            if age == 0 or (st == P_SYSCALL and self.syscall_age(p) == 0):
                return True
            if st == P_RUNNING and age == 2:
                g = self.curg_of(p)
                if g is not None and not self.allg[g].preempt:
                    return True
        return False

    def curg_of(self, p: int) -> int | None:
        """The G running on P p (pp.m.curg); read racily by choosers and plans."""
        m = self.allp[p].m
        return None if m is None else self.allm[m].curg

    @plan(PC.SYSMON)
    def plan_sysmon(self, a: int, p: int | None) -> list[Unit]:
        units = [self.allm[a].unit]
        if p is not None:
            s = self.sched
            return units + [self.allp[p].unit, s.unit, s.u_npidle, s.u_nmspinning]
        for pp in self.allp:  # a pass looks at every P, its M and its G
            units.append(pp.unit)
            m = pp.m
            if m is not None:
                mp = self.allm[m]
                units.append(mp.unit)
                g = mp.curg
                if g is not None:
                    units.append(self.allg[g].unit)
        return units

    # ---- the steps ----------------------------------------------------------------

    @step(PC.SYSMON)
    def sysmon(self, a: int, p: int | None) -> str:
        if p is None:
            return self.retake_pass(a)
        return self.retake_syscall(a, p)

    def retake_pass(self, a: int) -> str:
        """retake(now), the loop over allp: a schedtick not seen before is
        recorded (pd.schedtick, pd.schedwhen); one seen before, with the G
        having run since, has had the P for 10ms: preemptone(pp). For
        _Psyscall, a syscalltick not seen before is recorded."""
        seen: list[int] = []
        preempted: list[tuple[int, int]] = []  # (P, its G)
        for p, pp in enumerate(self.allp):
            st = pp.status.load()
            if st == P_IDLE:
                continue
            pd = pp.sysmontick
            if pd.schedtick != pp.schedtick:
                pd.schedtick = pp.schedtick
                pd.schedwhen = pp.userticks
                seen.append(p)
            elif st == P_RUNNING and pd.schedwhen < pp.userticks:
                g = self.curg_of(p)
                if g is not None and not self.allg[g].preempt:
                    self.preemptone(p)
                    preempted.append((p, g))
            if st == P_SYSCALL and pd.syscalltick != pp.syscalltick:
                pd.syscalltick = pp.syscalltick
                pd.syscallwait = False
                if p not in seen:
                    seen.append(p)
        parts = []
        if seen:
            parts.append("seen=" + ",".join(f"P{p}" for p in seen))
        if preempted:
            parts.append("preempt=" + ",".join(f"P{p}:G{g}" for p, g in preempted))
        return f"sysmon.retake({'; '.join(parts)})"

    def retake_syscall(self, a: int, p: int) -> str:
        """retake(now) for a P in a system call: skip while `runqempty(pp) &&
        nmspinning + npidle > 0` and under 10ms; otherwise incidlelocked(-1);
        CAS(&pp.status, _Psyscall, _Pidle); pp.syscalltick++; handoffp(pp)
        (incidlelocked(1) when it returns, runtime/machine.py ret)."""
        pp = self.allp[p]
        no_other_work = self.runqempty(p) and self.sched.nmspinning.load() + self.npidle() > 0
        if no_other_work and self.syscall_age(p) == 1:
            pp.sysmontick.syscallwait = True
            return f"sysmon.retake(p={p}, no other work, wait)"
        self.incidlelocked(-1)
        pp.status.cas(P_SYSCALL, P_IDLE)
        pp.syscalltick += 1
        self.allm[a].pp = p
        self.call(a, PC.HANDOFFP, PC.SYSMON)
        return f"sysmon.retake(p={p}, from syscall)"

    def preemptone(self, p: int) -> None:
        """preemptone(pp): gp.preempt = true; with async preemption,
        preemptM(mp): the signal is taken at the M's next step of user code."""
        m = self.allp[p].m
        assert m is not None
        mp = self.allm[m]
        self.allg[mp.curg].preempt = 1  # type: ignore[index]
        if self.cfg.async_preempt:
            mp.signal = 1
