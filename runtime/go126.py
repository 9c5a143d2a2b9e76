"""Go 1.26's system calls, without _Psyscall (golang/go commit 7244e9221f,
in Go 1.26's src/runtime/proc.go: reentersyscall, entersyscallblock,
exitsyscall, exitsyscallTryGetP, exitsyscallNoP, setBlockOnExitSyscall,
syscallingThread.takeP, retake).

The rest of the scheduler is Go 1.25's (runtime/scheduler.py). What
changes: a P whose G is in a system call stays _Prunning and wired to its
M; "in a system call" is the G's status, _Gsyscall. Whoever wants that P
(sysmon's retake, an M leaving its own system call) first takes the G's
_Gscan bit (setBlockOnExitSyscall), which keeps the G from leaving
_Gsyscall, then unwires the P (takeP) and drops the bit (resume). The M
in the call, on its way out, CASes its G _Gsyscall -> _Grunning first and
only then looks whether it still has its P: from there the G may be
_Grunning with no P, a state Go 1.25 never had.

Between two schedule points a thread runs alone, so a taker takes the
bit, the P and drops the bit within one step: the syscalling M's CAS,
which would wait for the bit, never meets it held.
"""

from __future__ import annotations

from model.state import G_RUNNABLE, G_RUNNING, G_SYSCALL, P_IDLE, P_RUNNING
from runtime.objects import G, M, P
from runtime.proc import traced
from runtime.scheduler import Runtime
from runtime.user import Next

PROFILE = "go1.26"
G_SCAN = 0x1000  # _Gscan: held on a G's status, it keeps the status from changing


def castogscanstatus(gp: G, oldval: int, newval: int) -> bool:
    """castogscanstatus(gp, oldval, oldval|_Gscan): take the G's scan bit."""
    if gp.status != oldval:
        return False
    gp.status = newval
    return True


class SyscallingThread:
    """syscallingThread: a thread in a system call that cannot leave it
    while the caller holds its G's scan bit (setBlockOnExitSyscall)."""

    def __init__(self, gp: G, mp: M, pp: P, status: int):
        self.gp, self.mp, self.pp, self.status = gp, mp, pp, status

    def takeP(self) -> None:
        """takeP -> releaseP(_Pidle): pp.m = 0; mp.p = 0; the P's status
        stored _Pidle; pp.syscalltick++."""
        self.pp.m = None
        self.mp.p = None
        self.pp.status.store(P_IDLE)
        self.pp.syscalltick += 1

    def resume(self) -> None:
        """resume: casfrom_Gscanstatus: the scan bit dropped, the G may leave
        its system call."""
        self.gp.status = self.status


class Runtime126(Runtime):
    """The scheduler of Go 1.26 and later: no _Psyscall."""

    profile = PROFILE

    # ---- entering a system call --------------------------------------------------------

    def entersyscall(self, mp: M) -> None:
        """reentersyscall (Go 1.26): m.oldp = pp; then CAS(&gp.atomicstatus,
        _Grunning, _Gsyscall). (Its m.syscalltick = pp.syscalltick is read
        by the tracer only, and left out.) The P stays _Prunning and wired
        to this M: "As soon as we switch to _Gsyscall, we are in danger of
        losing our P. We must not touch it after this point": from the CAS
        on, sysmon or an exiting M may take it (setBlockOnExitSyscall)."""
        assert mp.curg is not None and mp.p is not None
        mp.oldp = mp.p
        self.casgstatus(mp.curg, G_RUNNING, G_SYSCALL)

    @traced
    def entersyscallblock(self, mp: M) -> None:
        """entersyscallblock (Go 1.26): pp.syscalltick++; "Once we switch to
        _Gsyscall, we can't safely touch our P anymore, so we need to hand
        it off beforehand": handoffp(releasep()); then casgstatus(gp,
        _Grunning, _Gsyscall). In between ("a small window where we are in
        _Grunning without a P") other threads run. m.oldp stays nil:
        exitsyscall will look for an idle P."""
        assert mp.curg is not None and mp.p is not None
        self.allp[mp.p].syscalltick += 1
        self.handoffp(mp, self.releasep(mp))
        self.point(mp, "entersyscallblock: casgstatus")
        self.casgstatus(mp.curg, G_RUNNING, G_SYSCALL)

    # ---- leaving it ----------------------------------------------------------------------

    def exitsyscall(self, mp: M) -> Next:
        """exitsyscall (Go 1.26): "Optimistically assume we're going to keep
        running": CAS(_Gsyscall, _Grunning) first; a taker holding the scan
        bit would make it wait, so a P is never taken half-way. If m.p is
        still set nobody took the P (the fast path): pp.syscalltick++ and
        the G goes on. Otherwise the G is _Grunning without a P while
        exitsyscallTryGetP looks for one; with one, acquirepNoTrace(pp) and
        pp.syscalltick++; without, mcall(exitsyscallNoP)."""
        self.point(mp, "syscall")
        g = mp.curg
        assert g is not None
        self.casgstatus(g, G_SYSCALL, G_RUNNING)
        if mp.p is not None:
            mp.oldp = None
            self.allp[mp.p].syscalltick += 1
            return None
        self.point(mp, "exitsyscallTryGetP")
        # "Grab and clear our old P": Go does it right after the CAS. m.oldp
        # is this M's alone (no other thread reads or writes it), so taking
        # it at this step instead changes nothing another thread can see.
        oldp = mp.oldp
        mp.oldp = None
        pp = self.exitsyscallTryGetP(mp, oldp)
        if pp is not None:
            self.acquirep(mp, pp)
            pp.syscalltick += 1
            return None
        self.point(mp, "exitsyscallNoP")
        return self.exitsyscall0(mp)

    def exitsyscallTryGetP(self, mp: M, oldp: int | None) -> P | None:
        """exitsyscallTryGetP(oldp): "Try to steal our old P back" from
        whatever M now sits in a system call on it (sysmon handed it off,
        another M ran on it and entered a call): setBlockOnExitSyscall(oldp);
        thread.takeP(); thread.resume(). Else "Try to get an idle P": `if
        sched.pidle != 0` lock; pidleget(); unlock."""
        if oldp is not None:
            thread = self.setBlockOnExitSyscall(self.allp[oldp])
            if thread is not None:
                thread.takeP()
                thread.resume()
                return self.allp[oldp]
        self.point(mp, "exitsyscallTryGetP: pidleget")
        with self.sched.lock:
            return self.pidleget()

    def exitsyscall0(self, mp: M) -> Next:
        """exitsyscallNoP (Go 1.26's exitsyscall0, on g0): casgstatus(gp,
        _Grunning, _Grunnable); then as before: dropg; lock; pidleget, or
        globrunqput(gp); unlock; acquirep + execute, stoplockedm or stopm."""
        g = mp.curg
        assert g is not None
        self.casgstatus(g, G_RUNNING, G_RUNNABLE)
        return self.exitsyscall0_dropg(mp, g)

    # ---- taking the P of a G in a system call -----------------------------------------------

    def syscall_thread(self, pp: P) -> tuple[M, G] | None:
        """setBlockOnExitSyscall's racy reads: pp is _Prunning, has an M, and
        that M's curg is in _Gsyscall (the M and its G, or None)."""
        if pp.status.load() != P_RUNNING or pp.m is None:
            return None
        mp = self.allm[pp.m]
        if mp.curg is None:
            return None
        gp = self.allg[mp.curg]
        return (mp, gp) if gp.status & ~G_SCAN == G_SYSCALL else None

    def setBlockOnExitSyscall(self, pp: P) -> SyscallingThread | None:
        """setBlockOnExitSyscall(pp): the G in a system call on pp, its scan
        bit taken, so that it cannot leave _Gsyscall; then "validate that
        it's still connected to the *same* M and P" (it may have left the
        call and entered another meanwhile: that is fine, but not this P's
        any more). None: not in a system call, or it changed under us."""
        found = self.syscall_thread(pp)
        if found is None:
            return None
        mp, gp = found
        status = gp.status & ~G_SCAN
        if not castogscanstatus(gp, status, status | G_SCAN):
            return None
        if mp.curg != gp.id or mp.p != pp.id:
            gp.status = status  # casfrom_Gscanstatus
            return None
        return SyscallingThread(gp, mp, pp, status)

    # ---- sysmon -----------------------------------------------------------------------------

    def syscalling(self, pp: P) -> bool:
        """Go 1.26: no P status says it; the P's G does (setBlockOnExitSyscall's test)."""
        return self.syscall_thread(pp) is not None

    def preempt_target(self, pp: P) -> int | None:
        """preemptone (Go 1.26): "Don't bother trying to preempt a goroutine
        in a syscall": its P is _Prunning now, so the G's status decides."""
        g = super().preempt_target(pp)
        return None if g is None or self.allg[g].status == G_SYSCALL else g

    def retake_syscall_p(self, pp: P) -> None:
        """retake (Go 1.26): setBlockOnExitSyscall(pp), which fails if the G
        is not in a system call; thread.takeP(); thread.resume(). ("Note:
        because we have the scan bit, the goroutine is at worst stuck
        spinning in exitsyscall.") Go takes the bit before its syscalltick
        and other-work tests and resumes the G if they say wait; within one
        step that order is the same to every other thread."""
        thread = self.setBlockOnExitSyscall(pp)
        assert thread is not None, f"retake: P{pp.id} is not in a system call"
        thread.takeP()
        thread.resume()
