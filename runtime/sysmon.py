"""sysmon (proc.go sysmon, retake, preemptone; Go 1.25): the M without a P
that preempts G's that had their P for a whole time slice and retakes Ps
left in system calls. Which P is in a system call, and how retake takes
it, are the profile's (`syscalling`, `retake_syscall_p`, `preempt_target`):
Go 1.26's are in runtime/go126.py.

Its clock is the model's: a P's G has run "for 10ms" when sysmon saw the
same schedtick on an earlier pass and the P ran user code since
(pp.sysmontick.schedwhen < pp.userticks); a system call has lasted long
enough once sysmon let it be one time."""

from __future__ import annotations

from model.state import P_IDLE, P_RUNNING, P_SYSCALL
from runtime.objects import M, P
from runtime.proc import traced
from runtime.syscall import SyscallExit


class Monitor(SyscallExit):
    def sysmon(self, mp: M) -> None:
        """sysmon's loop: each time round, a retake pass over allp (when it
        would see or do something), or the retake of one P in a system call
        that a pass has seen; the controller picks which."""
        while True:
            p = self.choose(mp, "sysmon", self.sysmon_work, shuffle=True)
            if p is None:
                self.retake_scan()
            else:
                self.retake(mp, p)

    def sysmon_work(self) -> list[int | None]:
        out: list[int | None] = [None] if self.retake_would_act() else []
        for pp in self.allp:
            if self.syscalling(pp) and (self.syscall_age(pp.id) or self.sched_age(pp.id)):
                out.append(pp.id)
        return out

    def syscalling(self, pp: P) -> bool:
        """Whether P pp is in a system call, for retake. Go 1.25: its status
        is _Psyscall (reentersyscall left it so)."""
        return pp.status.load() == P_SYSCALL

    def preempt_target(self, pp: P) -> int | None:
        """The G preemptone(pp) would ask to yield: the curg of a _Prunning
        P's M, unless it has been asked already."""
        if pp.status.load() != P_RUNNING:
            return None
        g = self.curg_of(pp.id)
        return None if g is None or self.allg[g].preempt else g

    def sched_age(self, p: int) -> int:
        """0: the P's schedtick moved since sysmon's last look; 1: sysmon
        recorded it; 2: and the P ran user code since (10ms passed)."""
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

    def curg_of(self, p: int) -> int | None:
        m = self.allp[p].m
        return None if m is None else self.allm[m].curg

    def retake_would_act(self) -> bool:
        for pp in self.allp:
            if pp.status.load() == P_IDLE:
                continue
            age = self.sched_age(pp.id)
            if age == 0 or (self.syscalling(pp) and self.syscall_age(pp.id) == 0):
                return True
            if age == 2 and self.preempt_target(pp) is not None:
                return True
        return False

    def retake_scan(self) -> None:
        """retake(now), the loop over allp: a schedtick not seen before is
        recorded (pd.schedtick, pd.schedwhen); one seen before, with the G
        having run since, has had the P for 10ms: preemptone(pp). For a P in
        a system call, a syscalltick not seen before is recorded."""
        for pp in self.allp:
            if pp.status.load() == P_IDLE:
                continue
            pd = pp.sysmontick
            if pd.schedtick != pp.schedtick:
                pd.schedtick = pp.schedtick
                pd.schedwhen = pp.userticks
            elif pd.schedwhen < pp.userticks and self.preempt_target(pp) is not None:
                self.preemptone(pp.id)
            if self.syscalling(pp) and pd.syscalltick != pp.syscalltick:
                pd.syscalltick = pp.syscalltick
                pd.syscallwait = False

    @traced
    def retake(self, mp: M, p: int) -> None:
        """retake(now) for a P in a system call: "we don't want to retake Ps
        if there is no other work to do, but ... we want to retake them
        eventually": skip while `runqempty(pp) && nmspinning + npidle > 0`
        and under 10ms. Otherwise incidlelocked(-1) (sysmon counts as a
        running M until the hand-off is done, or the M leaving the call
        could park and checkdead see nobody running); CAS(&pp.status,
        _Psyscall, _Pidle); pp.syscalltick++; handoffp(pp); incidlelocked(1)."""
        pp = self.allp[p]
        no_other_work = self.runqempty(pp) and self.sched.nmspinning.load() + self.npidle() > 0
        if no_other_work and self.syscall_age(p) == 1:
            pp.sysmontick.syscallwait = True
            return
        self.retake_p(mp, pp)

    def retake_p(self, mp: M, pp: P) -> None:
        """incidlelocked(-1); the P taken out of its system call
        (retake_syscall_p); handoffp(pp); incidlelocked(1)."""
        self.incidlelocked(-1)
        self.retake_syscall_p(pp)
        self.handoffp(mp, pp)
        self.incidlelocked(1)

    def retake_syscall_p(self, pp: P) -> None:
        """Go 1.25: CAS(&pp.status, _Psyscall, _Pidle), the P is nobody's;
        pp.syscalltick++."""
        pp.status.cas(P_SYSCALL, P_IDLE)
        pp.syscalltick += 1

    def preemptone(self, p: int) -> None:
        """preemptone(pp): gp.preempt = true (stackguard0 = stackPreempt);
        with async preemption, preemptM: the signal is taken at the M's next
        step of user code."""
        m = self.allp[p].m
        assert m is not None
        mp = self.allm[m]
        assert mp.curg is not None
        self.allg[mp.curg].preempt = True
        if self.cfg.async_preempt:
            mp.signal = True
