"""Leaving a system call (Go 1.25, with the _Psyscall P state): exitsyscall's
fast path (CAS the old P back, or an idle P) and slow path (exitsyscall0).
Entering is a step of user code (model/goroutine.py). The go1.26 profile
(model/go126.py) replaces these steps with Go 1.26's path without _Psyscall.
"""

from __future__ import annotations

from model.action import Action
from model.machine import step
from model.pcs import PC
from model.queues import Queues
from model.state import G_RUNNABLE, G_RUNNING, G_SYSCALL, NONE, P_SYSCALL


class Syscalls(Queues):
    @step(PC.IN_SYSCALL)
    def exitsyscall(self, s: list[int], m: int, c: None) -> Action:
        """The system call returns. exitsyscall -> exitsyscallfast(oldp):
        `oldp.status == _Psyscall && CAS(&oldp.status, _Psyscall, _Pidle)`
        then wirep(oldp); pp.syscalltick++; casgstatus(_Gsyscall,
        _Grunning) and the G goes on. If sysmon or another M took the P
        meanwhile, the CAS fails and the next step looks for an idle P."""
        L = self.L
        g = s[L.curg[m]]
        oldp = s[L.oldp[m]]
        s[L.oldp[m]] = NONE
        if oldp != NONE and s[L.p_status[oldp]] == P_SYSCALL:
            self.acquirep(s, m, oldp)
            s[L.sysc_age[oldp]] = 0  # syscalltick++
            if not self.casgstatus(s, m, g, G_SYSCALL, G_RUNNING):
                return Action("exitsyscall", m=m, g=g).throws()
            s[L.pc[m]] = PC.RUN
            return Action("exitsyscall.fast", m=m, g=g, p=oldp)
        s[L.pc[m]] = PC.EXITSYSCALL_PIDLE
        oldp_s: int | str = "-" if oldp == NONE else oldp
        return Action("exitsyscall.fast", m=m, g=g, oldp=oldp_s).flag("lost")

    @step(PC.EXITSYSCALL_PIDLE)
    def exitsyscallfast_pidle(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscallfast: `if sched.pidle != 0` then exitsyscallfast_pidle:
        lock; pidleget(); unlock; acquirep(pp); the G goes on. Otherwise the
        slow path."""
        L = self.L
        g = s[L.curg[m]]
        p = self.pidleget(s)
        if p == NONE:
            s[L.pc[m]] = PC.EXITSYSCALL0
            return Action("exitsyscall.pidle", m=m, g=g).flag("none")
        self.acquirep(s, m, p)
        s[L.sysc_age[p]] = 0  # syscalltick++
        if not self.casgstatus(s, m, g, G_SYSCALL, G_RUNNING):
            return Action("exitsyscall", m=m, g=g).throws()
        s[L.pc[m]] = PC.RUN
        return Action("exitsyscall.pidle", m=m, g=g, p=p)

    @step(PC.EXITSYSCALL0)
    def exitsyscall0(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscall0 (on g0): casgstatus(_Gsyscall, _Grunnable); dropg;
        lock; pp = pidleget(); none: globrunqput(gp); unlock. With a P:
        acquirep(pp); execute(gp, false). Without: stopm(); schedule().

        No wakep: the G went to the global queue under sched.lock, and an M
        about to idle its P re-checks the global queue under that lock."""
        g = s[self.L.curg[m]]
        if not self.casgstatus(s, m, g, G_SYSCALL, G_RUNNABLE):
            return Action("exitsyscall0", m=m, g=g).throws()
        return self.exitsyscall0_place(s, m, g, "exitsyscall0")

    def exitsyscall0_place(self, s: list[int], m: int, g: int, name: str) -> Action:
        """The rest of exitsyscall0 (and of Go 1.26's exitsyscallNoP), the G
        now _Grunnable: dropg; lock; pidleget; none: globrunqput(gp), unlock,
        stopm; else unlock, acquirep(pp), execute(gp, false)."""
        L = self.L
        s[L.curg[m]] = NONE
        p = self.pidleget(s)
        if p == NONE:
            self.globrunqput(s, g)
            if s[L.lockedg[m]] != NONE:  # `if locked { stoplockedm(); execute(gp) }`
                s[L.pc[m]] = PC.LOCKED_WAIT
                return Action(name, m=m, g=g).flag("globrunqput").flag("stoplockedm")
            s[L.pc[m]] = PC.STOPM
            return Action(name, m=m, g=g).flag("globrunqput")
        self.acquirep(s, m, p)
        self.to_execute(s, m, g, False)
        return Action(name, m=m, g=g, p=p)
