"""Leaving a system call, Go 1.25 (with the _Psyscall P state):
exitsyscall's fast path (the old P back with a CAS, or an idle P) and its
slow path, exitsyscall0 on g0."""

from __future__ import annotations

from model.state import G_RUNNABLE, G_RUNNING, G_SYSCALL, P_IDLE, P_SYSCALL
from runtime.objects import M, P
from runtime.user import Next, User


class SyscallExit(User):
    def exitsyscall(self, mp: M) -> Next:
        """The system call returns: exitsyscall -> exitsyscallfast(oldp):
        `oldp.status == _Psyscall && CAS(&oldp.status, _Psyscall, _Pidle)`,
        wirep(oldp), pp.syscalltick++, and the G goes on. If sysmon or an
        M took the P meanwhile the CAS fails: an idle P, then the slow path."""
        self.point(mp, "syscall")
        assert mp.curg is not None
        oldp = mp.oldp
        mp.oldp = None
        if oldp is not None:
            pp = self.allp[oldp]
            if self.exitsyscallfast_takep(pp):
                self.exitsyscall_on(mp, pp)
                return None
        self.point(mp, "exitsyscallfast_pidle")
        with self.sched.lock:
            pp2 = self.pidleget()
        if pp2 is not None:
            self.exitsyscall_on(mp, pp2)
            return None
        self.point(mp, "exitsyscall0")
        return self.exitsyscall0(mp)

    def exitsyscallfast_takep(self, pp: P) -> bool:
        """`oldp.status == _Psyscall && CAS(&oldp.status, _Psyscall, _Pidle)`:
        the P is still the one this M left, nobody retook it meanwhile."""
        return pp.status.load() == P_SYSCALL and pp.status.cas(P_SYSCALL, P_IDLE)

    def exitsyscall_on(self, mp: M, pp: P) -> None:
        """acquirep(pp); pp.syscalltick++; casgstatus(_Gsyscall, _Grunning)."""
        assert mp.curg is not None
        self.acquirep(mp, pp)
        pp.syscalltick += 1
        self.casgstatus(mp.curg, G_SYSCALL, G_RUNNING)

    def exitsyscall0(self, mp: M) -> Next:
        """exitsyscall0: casgstatus(_Gsyscall, _Grunnable); dropg; lock;
        pidleget(); none: globrunqput(gp); unlock; then stoplockedm (a
        locked M waits for its G) or stopm. With a P: acquirep(pp);
        execute(gp, false). No wakep: the G went to the global queue under
        sched.lock, and an M about to idle its P re-checks that queue under
        the same lock."""
        g = mp.curg
        assert g is not None
        self.casgstatus(g, G_SYSCALL, G_RUNNABLE)
        return self.exitsyscall0_dropg(mp, g)

    def exitsyscall0_dropg(self, mp: M, g: int) -> Next:
        mp.curg = None
        with self.sched.lock:
            pp = self.pidleget()
            if pp is None:
                self.globrunqput(g)
        if pp is None:
            return ("stoplockedm",) if mp.lockedg is not None else ("stopm",)
        self.acquirep(mp, pp)
        return ("execute", g)
