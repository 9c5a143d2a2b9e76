"""User code and what it asks of the scheduler: newproc, goready, gopark,
Gosched, goexit, preemption, and runqput's two halves.

The M running a G (pc RUN) takes one step per instruction of the G's
program (model/workloads.py). A step that enters the runtime on the system
stack (newproc, ready) leaves the M in runtime code with curg still set
until it returns to RUN; a step that gives up the G (mcall: Gosched, park,
exit, preemption) drops it and continues in schedule().
"""

from __future__ import annotations

from model.action import Action
from model.machine import TRUNCATED, choices, foldable, step
from model.pcs import PC
from model.queues import Queues
from model.state import (
    G_DEAD,
    G_RUNNABLE,
    G_RUNNING,
    G_SYSCALL,
    G_WAITING,
    NONE,
    P_SYSCALL,
    q_pop_head,
)
from model.workloads import Op


class Goroutines(Queues):
    @choices(PC.RUN)
    def run_choices(self, t: bytes, m: int) -> list[tuple[str, int]]:
        """What the running G can do next: its instruction (for `ready`, once
        per goroutine waiting on the semaphore), or, when sysmon asked for a
        preemption and async preemption is on, take the signal."""
        L, code = self.L, self.code
        g = t[L.curg[m]]
        pc = t[L.g_pc[g]]
        op = code.ops[pc]
        if op == Op.READY:
            sema = code.args[pc]
            waiters = [w for w in range(L.nG) if self.parked_on(t, w, sema)]
            opts: list[tuple[str, int]] = [("ready", w) for w in waiters] or [("ready", NONE)]
        else:
            opts = [("user", NONE)]
        if self.cfg.async_preempt and t[L.g_preempt[g]]:
            opts.append(("async", NONE))
        return opts

    @foldable
    def parked_on(self, t: bytes, w: int, sema: int) -> bool:
        """G w waits in `park` on semaphore `sema`: `ready` may wake it."""
        L, code = self.L, self.code
        return (
            t[L.g_status[w]] == G_WAITING
            and code.ops[t[L.g_pc[w]]] == Op.PARK
            and code.args[t[L.g_pc[w]]] == sema
        )

    @step(PC.RUN)
    def run(self, s: list[int], m: int, c: tuple[str, int]) -> Action:
        L, code = self.L, self.code
        g = s[L.curg[m]]
        pc = s[L.g_pc[g]]
        kind, target = c
        if kind == "async":
            return self.asyncPreempt(s, m, g)
        p = s[L.m_p[m]]
        if s[L.sched_age[p]] == 1:
            s[L.sched_age[p]] = 2  # time passes while user code runs (model/sysmon.py)
        op = code.ops[pc]
        if s[L.g_preempt[g]] and op not in (Op.SPIN, Op.EXIT):
            # Every instruction but a call-free loop and the return is a call:
            # its prologue sees stackguard0 == stackPreempt (newstack).
            return self.gopreempt_m(s, m, g, "sync")
        if op == Op.COMPUTE:
            s[L.g_pc[g]] = code.nextpc[pc]
            return Action("run.compute", m=m, g=g)
        if op == Op.SPIN:
            return Action("run.spin", m=m, g=g)
        if op == Op.GO:
            return self.newproc(s, m, g, code.args[pc])
        if op == Op.GOSCHED:
            s[L.g_pc[g]] = code.nextpc[pc]
            return self.goschedImpl(s, m, g, "Gosched")
        if op == Op.YIELD:
            s[L.g_pc[g]] = code.nextpc[pc]
            return self.goyield_m(s, m, g)
        if op == Op.PARK:
            return self.gopark(s, m, g, code.args[pc])
        if op == Op.READY:
            return self.ready(s, m, g, code.args[pc], target)
        if op == Op.SYSCALL:
            s[L.g_pc[g]] = code.nextpc[pc]
            return self.entersyscall(s, m, g)
        if op == Op.SYSCALL_BLOCK:
            s[L.g_pc[g]] = code.nextpc[pc]
            return self.entersyscallblock(s, m, g)
        if op == Op.LOCK:
            s[L.g_pc[g]] = code.nextpc[pc]
            return self.lockOSThread(s, m, g)
        if op == Op.UNLOCK:
            s[L.g_pc[g]] = code.nextpc[pc]
            return self.unlockOSThread(s, m, g)
        assert op == Op.EXIT
        return self.goexit0(s, m, g)

    # ---- LockOSThread --------------------------------------------------------

    def lockOSThread(self, s: list[int], m: int, g: int) -> Action:
        """LockOSThread -> dolockOSThread: m.lockedg = gp; gp.lockedm = m
        (the nesting counts lockedExt/lockedInt are not modelled: locked or
        not). From here the G runs only on this M, and the M runs nothing
        else: schedule() on this M waits for the G (stoplockedm), and an M
        that finds the G runnable hands it back here (startlockedm)."""
        s[self.L.lockedg[m]] = g
        return Action("LockOSThread", m=m, g=g)

    def unlockOSThread(self, s: list[int], m: int, g: int) -> Action:
        """UnlockOSThread -> dounlockOSThread: m.lockedg = 0; gp.lockedm = 0."""
        s[self.L.lockedg[m]] = NONE
        return Action("UnlockOSThread", m=m, g=g)

    # ---- spawning and readying: runqput(pp, gp, next=true), then wakep ------

    def newproc(self, s: list[int], m: int, g: int, prog: int) -> Action:
        """newproc: newproc1 takes a dead G (gfget) and makes it _Grunnable
        running `prog`; runqput(pp, newg, next=true); wakep().

        This step is newproc1 plus runqput's CAS on runnext; the kicked-out
        runnext, if any, is put on the ring by the next step."""
        L, code = self.L, self.code
        child = next((x for x in range(L.nG) if s[L.g_status[x]] == G_DEAD), NONE)
        if child == NONE:
            return TRUNCATED  # more goroutines alive than the configuration's G slots
        s[L.g_pc[g]] = code.nextpc[s[L.g_pc[g]]]
        s[L.g_status[child]] = G_RUNNABLE  # casgstatus(newg, _Gdead, _Grunnable)
        s[L.g_pc[child]] = code.entry[prog]
        s[L.g_preempt[child]] = 0
        p = s[L.m_p[m]]
        self.runqput_next(s, m, p, child)
        return Action("newproc", m=m, g=g, child=child, p=p)

    def ready(self, s: list[int], m: int, g: int, sema: int, w: int) -> Action:
        """ready(gp, next=true) as called by goready: casgstatus(gp, _Gwaiting,
        _Grunnable); runqput(pp, gp, next=true) on the readier's P; wakep().

        With no waiter the wakeup is left pending on the semaphore."""
        L, code = self.L, self.code
        s[L.g_pc[g]] = code.nextpc[s[L.g_pc[g]]]
        if w == NONE:
            s[L.sema + sema] = 1
            return Action("ready.pending", m=m, g=g, sema=code.sema_names[sema])
        if not self.casgstatus(s, m, w, G_WAITING, G_RUNNABLE):
            return Action("ready", m=m, g=g, target=w).throws()
        s[L.g_pc[w]] = code.nextpc[s[L.g_pc[w]]]  # it resumes after its park
        p = s[L.m_p[m]]
        self.runqput_next(s, m, p, w)
        return Action("goready", m=m, g=g, target=w, p=p)

    def runqput_next(self, s: list[int], m: int, p: int, g: int) -> None:
        """runqput(pp, gp, next=true), first half: CAS pp.runnext from old to gp.

        The old runnext, if any, is kicked out to the ring tail by the next
        step (RUNQPUT_RING); either way wakep follows, and the M returns to
        the G's code after it."""
        L = self.L
        old = s[L.runnext[p]]
        s[L.runnext[p]] = g
        if old != NONE:
            s[L.gp[m]] = old
            self.call(s, m, PC.RUNQPUT_RING, PC.RUN)
        else:
            self.call(s, m, PC.WAKEP_CAS, PC.RUN)

    @step(PC.RUNQPUT_RING)
    def runqput_ring(self, s: list[int], m: int, c: None) -> Action:
        """runqput, second half: the kicked-out runnext goes to the ring tail
        (store, then publish runqtail); if the ring is full, runqputslow
        claims half of it with a CAS on runqhead (the G's are then in this
        M's hands only) and the next step moves them to the global queue."""
        L = self.L
        p = s[L.m_p[m]]
        g = s[L.gp[m]]
        s[L.gp[m]] = NONE
        if self.ring_has_room(s, p):
            self.ring_put(s, p, g)
            s[L.pc[m]] = PC.WAKEP_CAS
            return Action("runqput.ring", m=m, p=p, g=g)
        half = self.runq_len(s, p) // 2
        claimed = self.runqgrab_own_half(s, p, half)
        self.set_batch(s, m, claimed + [g])
        s[L.pc[m]] = PC.RUNQPUTSLOW_GLOBAL
        return Action("runqputslow.grab", m=m, p=p, batch=(*claimed, g))

    def runqgrab_own_half(self, s: list[int], p: int, n: int) -> list[int]:
        """runqputslow's CAS of runqhead: take the n oldest G's of the owner's ring."""
        return q_pop_head(s, self.L.runq[p], self.L.C, n)

    @step(PC.RUNQPUTSLOW_GLOBAL)
    def runqputslow_global(self, s: list[int], m: int, c: None) -> Action:
        """runqputslow: lock(&sched.lock); globrunqputbatch(batch); unlock."""
        L = self.L
        gs = self.take_batch(s, m)
        self.globrunqputbatch(s, gs)
        s[L.pc[m]] = PC.WAKEP_CAS
        return Action("runqputslow.global", m=m, batch=tuple(gs))

    # ---- giving up the G: gopark, Gosched, preemption, goexit ---------------

    def gopark(self, s: list[int], m: int, g: int, sema: int) -> Action:
        """gopark -> park_m: with a wakeup pending the unlock function refuses
        to park and the G goes on; otherwise casgstatus(_Grunning,
        _Gwaiting), dropg, schedule(). Checking the semaphore and parking
        happen under the semaphore's lock, so no wakeup is lost between them."""
        L, code = self.L, self.code
        if s[L.sema + sema]:
            s[L.sema + sema] = 0
            s[L.g_pc[g]] = code.nextpc[s[L.g_pc[g]]]
            return Action("park.pending", m=m, g=g, sema=code.sema_names[sema])
        if not self.casgstatus(s, m, g, G_RUNNING, G_WAITING):
            return Action("gopark", m=m, g=g).throws()
        s[L.curg[m]] = NONE  # dropg
        s[L.pc[m]] = PC.SCHEDULE
        return Action("gopark", m=m, g=g, sema=code.sema_names[sema])

    def goschedImpl(self, s: list[int], m: int, g: int, why: str) -> Action:
        """goschedImpl: casgstatus(_Grunning, _Grunnable); dropg; lock;
        globrunqput(gp) — the G goes to the tail of the GLOBAL queue, where
        every P can find it; unlock; wakep(); schedule()."""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_RUNNABLE):
            return Action(why, m=m, g=g).throws()
        s[L.curg[m]] = NONE
        self.globrunqput(s, g)
        self.call(s, m, PC.WAKEP_CAS, PC.SCHEDULE)
        return Action(why, m=m, g=g)

    def goyield_m(self, s: list[int], m: int, g: int) -> Action:
        """goyield -> goyield_m: casgstatus(_Grunning, _Grunnable); dropg;
        runqput(pp, gp, next=false) — the tail of the OWN ring, not the global
        queue, and no wakep; schedule(). (sync.Mutex's starvation-mode
        hand-off yields this way.) A full ring spills half plus the G to the
        global queue as runqputslow does, in this same step."""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_RUNNABLE):
            return Action("goyield", m=m, g=g).throws()
        s[L.curg[m]] = NONE
        p = s[L.m_p[m]]
        if self.ring_has_room(s, p):
            self.ring_put(s, p, g)
        else:
            spill = self.runqgrab_own_half(s, p, self.runq_len(s, p) // 2)
            self.globrunqputbatch(s, spill + [g])
        s[L.pc[m]] = PC.SCHEDULE
        return Action("goyield", m=m, g=g, p=p)

    def gopreempt_m(self, s: list[int], m: int, g: int, how: str) -> Action:
        """A preemption request honoured: gopreempt_m -> goschedImpl(gp, true).

        `sync`: the G reached a cooperative safe point (a function prologue
        sees stackguard0 == stackPreempt; newstack). The G resumes at the
        same instruction."""
        return self.goschedImpl(s, m, g, f"preempt.{how}")

    def asyncPreempt(self, s: list[int], m: int, g: int) -> Action:
        """The preemption signal (SIGURG) lands at an async safe point:
        doSigPreempt -> asyncPreempt -> asyncPreempt2 -> gopreempt_m."""
        return self.gopreempt_m(s, m, g, "async")

    def goexit0(self, s: list[int], m: int, g: int) -> Action:
        """goexit1 -> goexit0 -> gdestroy: casgstatus(_Grunning, _Gdead);
        dropg; gfput; schedule(). A G that exits locked to its thread takes
        the thread with it: "the thread is killed" (gogo(&mp.g0.sched) into
        mstart0 -> mexit, which handoffp(releasep())s and frees the M)."""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_DEAD):
            return Action("goexit", m=m, g=g).throws()
        s[L.g_pc[g]] = 0
        s[L.g_preempt[g]] = 0
        s[L.curg[m]] = NONE
        if s[L.lockedg[m]] == g:
            s[L.lockedg[m]] = NONE
            s[L.pp[m]] = self.releasep(s, m)
            s[L.spin_arg[m]] = 0
            self.call(s, m, PC.HANDOFFP, PC.MEXIT)
            return Action("goexit", m=m, g=g).flag("locked: mexit")
        s[L.pc[m]] = PC.SCHEDULE
        return Action("goexit", m=m, g=g)

    # ---- system calls (entering; exitsyscall is in model/syscall.py) --------

    def entersyscall(self, s: list[int], m: int, g: int) -> Action:
        """reentersyscall (Go 1.25): casgstatus(_Grunning, _Gsyscall);
        pp.m = 0; m.oldp = pp; m.p = 0; atomic store pp.status = _Psyscall.

        From here the P belongs to nobody: the M may CAS it back when the
        call returns, and sysmon (or another exiting M) may take it."""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_SYSCALL):
            return Action("entersyscall", m=m, g=g).throws()
        p = s[L.m_p[m]]
        s[L.p_m[p]] = NONE
        s[L.oldp[m]] = p
        s[L.m_p[m]] = NONE
        s[L.p_status[p]] = P_SYSCALL
        s[L.pc[m]] = PC.IN_SYSCALL
        return Action("entersyscall", m=m, g=g, p=p)

    def entersyscallblock(self, s: list[int], m: int, g: int) -> Action:
        """entersyscallblock: pp.syscalltick++; casgstatus(_Grunning,
        _Gsyscall); handoffp(releasep()) at once, without waiting for sysmon.
        m.oldp stays nil, so exitsyscall will look for an idle P."""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_SYSCALL):
            return Action("entersyscallblock", m=m, g=g).throws()
        p = self.releasep(s, m)
        s[L.sysc_age[p]] = 0  # syscalltick++
        s[L.pp[m]] = p
        self.call(s, m, PC.HANDOFFP, PC.IN_SYSCALL)
        return Action("entersyscallblock", m=m, g=g, p=p)
