"""The go1.26 profile: the system-call path without _Psyscall.

golang/go commit 7244e9221f ("This change eliminates the _Psyscall state by
using synchronization on the G status _Gsyscall ...") shipped in Go 1.26
(reference §0 item 1 and §7.3; read here in Go 1.27.3's
src/runtime/proc.go, the release the conformance check runs). The rest of
the scheduler (findRunnable, stealWork, wakep, startm, handoffp, runq*) is
the same code as in Go 1.25, so this profile is GMPModel with the syscall
steps replaced:

- reentersyscall keeps the P _Prunning and wired to the M (pp.m, m.p); it
  only records m.oldp and switches the G to _Gsyscall. "In a system call"
  is a property of the G, not of the P.
- whoever wants that P (sysmon's retake, another M leaving a syscall) calls
  setBlockOnExitSyscall(pp): the P is _Prunning, its M's curg is
  _Gsyscall, and the caller holds the G's scan bit, so the G cannot leave
  the syscall meanwhile; then takeP() unwires the P (_Pidle, pp.m = 0,
  mp.p = 0, syscalltick++). Holding the scan bit makes the whole of it one
  step: the syscalling M's exitsyscall CAS cannot interleave.
- exitsyscall CASes the G _Gsyscall -> _Grunning first. If m.p is still
  set the G goes on (the fast path). Otherwise the G is _Grunning without
  a P (a state Go 1.25 never had) while exitsyscallTryGetP tries to steal
  oldp back from whatever M now sits in a syscall on it, then an idle P;
  failing both, exitsyscallNoP makes it _Grunnable and queues it as
  exitsyscall0 did.
- entersyscallblock hands the P off (handoffp(releasep())) *before* the G
  becomes _Gsyscall: the G runs without a P for a moment there too.
"""

from __future__ import annotations

from model.action import Action
from model.gmp import GMPModel
from model.machine import step
from model.pcs import PC
from model.state import G_RUNNABLE, G_RUNNING, G_SYSCALL, NONE, P_IDLE, P_RUNNING

PROFILE = "go1.26"


class Go126Model(GMPModel):
    """The GMP scheduler of Go 1.26 and later: no _Psyscall."""

    profile = PROFILE

    # ---- which P is in a system call ---------------------------------------

    def may_be_in_syscall(self, t: bytes) -> bool:
        """No P status tells it: look at every P (in_syscall)."""
        return True

    def in_syscall(self, t: bytes | list[int], p: int) -> bool:
        """setBlockOnExitSyscall's test: pp.status == _Prunning, pp.m set, and
        that M's curg is _Gsyscall."""
        L = self.L
        if t[L.p_status[p]] != P_RUNNING:
            return False
        m = t[L.p_m[p]]
        if m == NONE:
            return False
        g = t[L.curg[m]]
        return g != NONE and t[L.g_status[g]] == G_SYSCALL

    def takeP(self, s: list[int], p: int) -> None:
        """syscallingThread.takeP -> releaseP(_Pidle): pp.m = 0; mp.p = 0;
        pp.status = _Pidle; pp.syscalltick++. The caller holds the G's scan
        bit (setBlockOnExitSyscall), which is why this is atomic here."""
        L = self.L
        m = s[L.p_m[p]]
        s[L.m_p[m]] = NONE
        s[L.p_m[p]] = NONE
        s[L.p_status[p]] = P_IDLE
        s[L.sysc_age[p]] = 0

    def retake_takep(self, s: list[int], p: int) -> None:
        """retake (Go 1.26): setBlockOnExitSyscall(pp) succeeded; thread.takeP()."""
        self.takeP(s, p)

    # ---- entering ------------------------------------------------------------

    def entersyscall(self, s: list[int], m: int, g: int) -> Action:
        """reentersyscall (Go 1.26): m.syscalltick = pp.syscalltick;
        m.oldp = pp; CAS(&gp.atomicstatus, _Grunning, _Gsyscall). The P
        stays _Prunning and wired to this M; sysmon may take it later."""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_SYSCALL):
            return Action("entersyscall", m=m, g=g).throws()
        p = s[L.m_p[m]]
        s[L.oldp[m]] = p
        s[L.pc[m]] = PC.IN_SYSCALL
        return Action("entersyscall", m=m, g=g, p=p)

    def entersyscallblock(self, s: list[int], m: int, g: int) -> Action:
        """entersyscallblock (Go 1.26): pp.syscalltick++; "Once we switch to
        _Gsyscall, we can't safely touch our P anymore, so we need to hand
        it off beforehand": handoffp(releasep()), then (next step) the
        casgstatus. m.oldp stays nil."""
        L = self.L
        p = self.releasep(s, m)
        s[L.sysc_age[p]] = 0  # syscalltick++
        s[L.pp[m]] = p
        self.call(s, m, PC.HANDOFFP, PC.ENTERSYSCALLBLOCK_CAS)
        return Action("entersyscallblock", m=m, g=g, p=p)

    @step(PC.ENTERSYSCALLBLOCK_CAS)
    def entersyscallblock_cas(self, s: list[int], m: int, c: None) -> Action:
        """entersyscallblock, after the hand-off: casgstatus(gp, _Grunning,
        _Gsyscall). Until here the G was _Grunning without a P."""
        L = self.L
        g = s[L.curg[m]]
        if not self.casgstatus(s, m, g, G_RUNNING, G_SYSCALL):
            return Action("entersyscallblock", m=m, g=g).throws()
        s[L.pc[m]] = PC.IN_SYSCALL
        return Action("entersyscallblock.casgstatus", m=m, g=g)

    # ---- leaving -------------------------------------------------------------

    @step(PC.IN_SYSCALL)
    def exitsyscall(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscall (Go 1.26): "Optimistically assume we're going to keep
        running": CAS(_Gsyscall, _Grunning) (it waits while a taker holds
        the scan bit, which the model's atomic takeP makes moot). If m.p is
        still set, nobody took the P: pp.syscalltick++ and the G goes on.
        Otherwise the G is _Grunning without a P and exitsyscallTryGetP
        runs next. (Go clears m.oldp here; the model keeps it until the next
        step reads it, which nobody else does.)"""
        L = self.L
        g = s[L.curg[m]]
        if not self.casgstatus(s, m, g, G_SYSCALL, G_RUNNING):
            return Action("exitsyscall", m=m, g=g).throws()
        p = s[L.m_p[m]]
        if p != NONE:
            s[L.oldp[m]] = NONE
            s[L.sysc_age[p]] = 0  # syscalltick++
            s[L.pc[m]] = PC.RUN
            return Action("exitsyscall.fast", m=m, g=g, p=p)
        s[L.pc[m]] = PC.EXITSYSCALL_OLDP
        return Action("exitsyscall", m=m, g=g).flag("lost P")

    @step(PC.EXITSYSCALL_OLDP)
    def exitsyscall_oldp(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscallTryGetP(oldp), first try: setBlockOnExitSyscall(oldp)
        succeeds when oldp is _Prunning under an M whose G is now in a
        system call itself (sysmon handed oldp off, another M ran on it and
        entered a syscall): thread.takeP() unwires it from that M, and this
        M acquires it. Otherwise the next step looks for an idle P."""
        L = self.L
        g = s[L.curg[m]]
        oldp = s[L.oldp[m]]
        s[L.oldp[m]] = NONE
        if oldp != NONE and self.in_syscall(s, oldp):
            other = s[L.p_m[oldp]]
            self.takeP(s, oldp)
            self.acquirep(s, m, oldp)
            s[L.sysc_age[oldp]] = 0  # syscalltick++
            s[L.pc[m]] = PC.RUN
            return Action("exitsyscall.oldp", m=m, g=g, p=oldp).arg("from m", other)
        s[L.pc[m]] = PC.EXITSYSCALL_PIDLE
        oldp_s: int | str = "-" if oldp == NONE else oldp
        return Action("exitsyscall.oldp", m=m, g=g, oldp=oldp_s).flag("busy")

    @step(PC.EXITSYSCALL_PIDLE)
    def exitsyscallfast_pidle(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscallTryGetP, second try: `if sched.pidle != 0` then lock;
        pidleget(); unlock; acquirepNoTrace(pp); the G (already _Grunning)
        goes on. No idle P: mcall(exitsyscallNoP)."""
        L = self.L
        g = s[L.curg[m]]
        p = self.pidleget(s)
        if p == NONE:
            s[L.pc[m]] = PC.EXITSYSCALL0
            return Action("exitsyscall.pidle", m=m, g=g).flag("none")
        self.acquirep(s, m, p)
        s[L.sysc_age[p]] = 0  # syscalltick++
        s[L.pc[m]] = PC.RUN
        return Action("exitsyscall.pidle", m=m, g=g, p=p)

    @step(PC.EXITSYSCALL0)
    def exitsyscall0(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscallNoP (on g0): casgstatus(gp, _Grunning, _Grunnable);
        then as exitsyscall0: dropg; lock; pidleget or globrunqput; stopm or
        acquirep + execute."""
        g = s[self.L.curg[m]]
        if not self.casgstatus(s, m, g, G_RUNNING, G_RUNNABLE):
            return Action("exitsyscallNoP", m=m, g=g).throws()
        return self.exitsyscall0_place(s, m, g, "exitsyscallNoP")
