"""Leaving a system call, Go 1.25 (model/syscall.py, step for step):
exitsyscallfast's CAS of the old P, exitsyscallfast_pidle, exitsyscall0.
In a free run the M's thread first spends the system call's time asleep
(runtime/threads.py), so that sysmon may retake the P meanwhile.
"""

from __future__ import annotations

from model.machine import step
from model.pcs import PC
from model.state import G_RUNNABLE, G_RUNNING, G_SYSCALL, P_IDLE, P_SYSCALL
from runtime.locks import Unit
from runtime.machine import plan, top
from runtime.queues import Queues


class Syscalls(Queues):
    @plan(PC.IN_SYSCALL)
    def plan_exitsyscall(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        units = [mp.unit, self.allg[mp.curg].unit]  # type: ignore[index]
        if mp.oldp is not None:
            units.append(self.allp[mp.oldp].unit)
        return units

    @step(PC.IN_SYSCALL)
    def exitsyscall(self, m: int, c: None) -> str:
        """The system call returns. exitsyscall -> exitsyscallfast(oldp):
        `oldp.status == _Psyscall && CAS(&oldp.status, _Psyscall, _Pidle)`,
        wirep(oldp); pp.syscalltick++; casgstatus(_Gsyscall, _Grunning). If
        sysmon or another M took the P meanwhile, the CAS fails."""
        mp = self.allm[m]
        g = mp.curg
        assert g is not None
        oldp = mp.oldp
        mp.oldp = None
        if oldp is not None and self.allp[oldp].status.cas(P_SYSCALL, P_IDLE):
            self.acquirep(m, oldp)
            self.allp[oldp].syscalltick += 1
            if not self.casgstatus(m, g, G_SYSCALL, G_RUNNING):
                return f"exitsyscall(m={m}, g={g}) throws"
            mp.pc = PC.RUN
            return f"exitsyscall.fast(m={m}, g={g}, p={oldp})"
        mp.pc = PC.EXITSYSCALL_PIDLE
        oldp_s = "-" if oldp is None else str(oldp)
        return f"exitsyscall.fast(m={m}, g={g}, oldp={oldp_s}, lost)"

    def plan_pidle_p(self, m: int) -> list[Unit]:
        """The units of an M that takes an idle P: sched.lock, the idle list's
        atomics, and the P on top of the list (read now, checked under the lock)."""
        mp = self.allm[m]
        s = self.sched
        units = [mp.unit, self.allg[mp.curg].unit, s.unit, s.u_npidle, s.u_idlepMask]  # type: ignore[index]
        p = top(s.pidle)
        if p is not None:
            units.append(self.allp[p].unit)
        return units

    @plan(PC.EXITSYSCALL_PIDLE)
    def plan_exitsyscall_pidle(self, m: int, c: None) -> list[Unit]:
        return self.plan_pidle_p(m)

    @step(PC.EXITSYSCALL_PIDLE)
    def exitsyscallfast_pidle(self, m: int, c: None) -> str:
        """exitsyscallfast_pidle: lock; pidleget(); unlock; acquirep(pp); the G
        goes on. Otherwise the slow path."""
        mp = self.allm[m]
        g = mp.curg
        assert g is not None
        p = self.pidleget()
        if p is None:
            mp.pc = PC.EXITSYSCALL0
            return f"exitsyscall.pidle(m={m}, g={g}, none)"
        self.acquirep(m, p)
        self.allp[p].syscalltick += 1
        if not self.casgstatus(m, g, G_SYSCALL, G_RUNNING):
            return f"exitsyscall(m={m}, g={g}) throws"
        mp.pc = PC.RUN
        return f"exitsyscall.pidle(m={m}, g={g}, p={p})"

    @plan(PC.EXITSYSCALL0)
    def plan_exitsyscall0(self, m: int, c: None) -> list[Unit]:
        return [*self.plan_pidle_p(m), self.sched.u_runqsize]

    @step(PC.EXITSYSCALL0)
    def exitsyscall0(self, m: int, c: None) -> str:
        """exitsyscall0 (on g0): casgstatus(_Gsyscall, _Grunnable); dropg;
        lock; pp = pidleget(); none: globrunqput(gp); unlock; stopm. With a
        P: acquirep(pp); execute(gp, false)."""
        mp = self.allm[m]
        g = mp.curg
        assert g is not None
        if not self.casgstatus(m, g, G_SYSCALL, G_RUNNABLE):
            return f"exitsyscall0(m={m}, g={g}) throws"
        mp.curg = None
        p = self.pidleget()
        if p is None:
            self.globrunqput(g)
            if mp.lockedg is not None:  # `if locked { stoplockedm(); execute(gp) }`
                mp.pc = PC.LOCKED_WAIT
                self.incidlelocked(1)
                return f"exitsyscall0(m={m}, g={g}, globrunqput, stoplockedm)"
            mp.pc = PC.STOPM
            return f"exitsyscall0(m={m}, g={g}, globrunqput)"
        self.acquirep(m, p)
        self.to_execute(m, g, False)
        return f"exitsyscall0(m={m}, g={g}, p={p})"
