"""User code and what it asks of the scheduler: the G's instructions
(runtime/program.py runs their user part), newproc, ready, gopark,
Gosched, goyield, preemption, goexit, LockOSThread, entering a system
call. An instruction that enters the runtime on the system stack
(newproc, ready) returns to the G's code; one that gives up the G
(mcall: park, Gosched, exit, preemption) says where its M goes on."""

from __future__ import annotations

from typing import Any

from model.state import G_DEAD, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING, P_SYSCALL
from model.workloads import Code, Op
from runtime.control import ThreadExit
from runtime.objects import M, P, Sema
from runtime.proc import traced
from runtime.wake import Wakeup

Next = tuple | None  # where the M goes on (schedule.py), None: the G's next instruction


class User(Wakeup):
    code: Code
    semas: list[Sema]
    grow_gs: bool

    def gogo(self, mp: M) -> tuple:
        """The G runs: one step per instruction, until it gives up the M."""
        while True:
            kind, target = self.choose(mp, "user code", lambda: self.user_options(mp))
            nxt = self.instruction(mp, kind, target)
            if nxt is not None:
                return nxt

    def user_options(self, mp: M) -> list[tuple]:
        """What the running G can do: its instruction (for `ready`, once per
        waiter, the oldest first), or, when sysmon asked for a preemption
        and async preemption is on, take the signal (first if it is
        pending). A `go` with no G slot left is not open (a bound of the
        configuration)."""
        assert mp.curg is not None
        gp = self.allg[mp.curg]
        op = self.code.ops[gp.pc]
        if op == Op.READY:
            waiters = list(self.semas[self.code.args[gp.pc]].waiters)
            opts: list[tuple] = [("ready", w) for w in waiters] or [("ready", None)]
        elif op == Op.GO and not self.sched.gfree and not self.grow_gs and not gp.preempt:
            opts = []
        else:
            opts = [("user", None)]
        if self.cfg.async_preempt and gp.preempt:
            opts.insert(0 if mp.signal else len(opts), ("async", None))
        return opts

    def instruction(self, mp: M, kind: str, target: int | None) -> Next:
        g = mp.curg
        assert g is not None and mp.p is not None
        gp = self.allg[g]
        if kind == "async":
            return self.gopreempt_m(mp)  # doSigPreempt -> asyncPreempt -> gopreempt_m
        op, arg = self.code.ops[gp.pc], self.code.args[gp.pc]
        mp.signal = False  # a preemption signal that found nothing to preempt
        self.allp[mp.p].userticks += 1  # time passes while user code runs (sysmon's clock)
        if gp.preempt and op not in (Op.SPIN, Op.EXIT):
            # Every instruction but a call-free loop and the return is a call:
            # its prologue sees stackguard0 == stackPreempt (newstack).
            return self.gopreempt_m(mp)
        if op == Op.GO:
            self.newproc(mp, arg)
            return None
        if op == Op.PARK:
            return self.gopark(mp, arg)
        if op == Op.READY:
            self.ready(mp, arg, target)
            return None
        if op == Op.EXIT:
            return self.goexit0(mp)
        gp.resume()  # the instruction's user code; stop before the next one
        if op == Op.GOSCHED:
            return self.gosched_m(mp)
        if op == Op.YIELD:
            return self.goyield_m(mp)
        if op == Op.SYSCALL:
            self.entersyscall(mp)
            return self.exitsyscall(mp)
        if op == Op.SYSCALL_BLOCK:
            self.entersyscallblock(mp)
            return self.exitsyscall(mp)
        if op == Op.LOCK:  # dolockOSThread
            mp.lockedg = g
            gp.lockedm = mp.id
        elif op == Op.UNLOCK:  # dounlockOSThread
            mp.lockedg = None
            gp.lockedm = None
        return None

    # ---- newproc, ready: runqput(pp, gp, next=true), then wakep ---------------------------

    @traced
    def newproc(self, mp: M, prog: int) -> None:
        """newproc: newproc1 takes a dead G (gfget) and makes it _Grunnable
        at `prog`'s entry; runqput(pp, newg, next=true); wakep()."""
        assert mp.curg is not None and mp.p is not None
        child = self.gfget()
        self.allg[mp.curg].resume()
        newg = self.allg[child]
        newg.status = G_RUNNABLE  # casgstatus(newg, _Gdead, _Grunnable)
        self.sched.goidgen += 1
        newg.start(self.code, self.code.entry[prog], self.sched.goidgen)
        self.runqput(mp, self.allp[mp.p], child)
        self.wakep(mp)

    def gfget(self) -> int:
        """gfget: the lowest dead G, or a new one when there is no bound."""
        g = self.sched.gfget()
        if g is None:
            assert self.grow_gs, "newproc without a free G slot"
            g = self.new_g()
        return g

    @traced
    def ready(self, mp: M, sema: int, w: int | None) -> None:
        """goready -> ready(gp, next=true): casgstatus(gp, _Gwaiting,
        _Grunnable); runqput(pp, gp, next=true) on the readier's P; wakep().
        With no waiter the wakeup stays pending on the semaphore."""
        assert mp.curg is not None and mp.p is not None
        sm = self.semas[sema]
        self.allg[mp.curg].resume()
        with sm.lock:
            if w is None:
                sm.pending = True
                return
            self.casgstatus(w, G_WAITING, G_RUNNABLE)
            sm.waiters.remove(w)
        self.allg[w].resume()  # it goes on after its park
        self.runqput(mp, self.allp[mp.p], w)
        self.wakep(mp)

    @traced
    def runqput(self, mp: M, pp: P, g: int) -> None:
        """runqput(pp, gp, next=true): CAS runnext to gp; the G it held is
        kicked out to the ring's tail (store, then publish runqtail); a full
        ring: runqputslow claims half of it with a CAS on runqhead, then
        moves them and the kicked-out G to the global queue under
        sched.lock."""
        old = pp.runq.put_next(g)
        if old is None:
            return
        self.point(mp, "runqput: ring", gp=old)
        if self.ring_put(pp, old):
            return
        batch = [*self.runqgrab_own(pp), old]
        self.point(mp, "runqputslow", batch=batch)
        with self.sched.lock:
            self.globrunqputbatch(batch)

    def ring_put(self, pp: P, g: int) -> bool:
        """runqput's ring part: False when the ring is full."""
        return pp.runq.put_ring(g)

    def runqgrab_own(self, pp: P) -> list[int]:
        """runqputslow's claim: the older half of the own ring, one CAS."""
        claimed = pp.runq.claim(len(pp.runq) // 2)
        assert claimed is not None  # nobody else runs between two points
        return claimed

    # ---- giving up the G --------------------------------------------------------------------

    def gopark(self, mp: M, sema: int) -> Next:
        """gopark -> park_m: under the semaphore's lock, a pending wakeup is
        taken and the G goes on; otherwise casgstatus(_Grunning, _Gwaiting),
        dropg, schedule(). No wakeup is lost between the look and the park."""
        g = mp.curg
        assert g is not None
        sm = self.semas[sema]
        with sm.lock:
            if sm.pending:
                sm.pending = False
                self.allg[g].resume()
                return None
            self.casgstatus(g, G_RUNNING, G_WAITING)
            sm.waiters.append(g)
        mp.curg = None
        return ("top",)

    @traced
    def goschedImpl(self, mp: M) -> Next:
        """goschedImpl: casgstatus(_Grunning, _Grunnable); dropg; lock;
        globrunqput(gp) (the GLOBAL queue, where every P finds it); unlock;
        wakep(); schedule()."""
        g = mp.curg
        assert g is not None
        self.casgstatus(g, G_RUNNING, G_RUNNABLE)
        mp.curg = None
        with self.sched.lock:
            self.globrunqput(g)
        self.wakep(mp)
        return ("top",)

    @traced
    def gosched_m(self, mp: M) -> Next:
        """Gosched -> mcall(gosched_m) -> goschedImpl(gp, false)."""
        return self.goschedImpl(mp)

    def gopreempt_m(self, mp: M) -> Next:
        """A preemption request honoured (a prologue's stack check, or the
        signal): gopreempt_m -> goschedImpl. The G resumes where it was."""
        return self.goschedImpl(mp)

    def goyield_m(self, mp: M) -> Next:
        """goyield_m: casgstatus(_Grunning, _Grunnable); dropg; runqput(pp,
        gp, next=false): the OWN ring's tail, no wakep; a full ring spills
        half and the G to the global queue."""
        g = mp.curg
        assert g is not None and mp.p is not None
        self.casgstatus(g, G_RUNNING, G_RUNNABLE)
        mp.curg = None
        pp = self.allp[mp.p]
        if not self.ring_put(pp, g):
            with self.sched.lock:
                self.globrunqputbatch([*self.runqgrab_own(pp), g])
        return ("top",)

    def goexit0(self, mp: M) -> Next:
        """goexit1 -> goexit0 -> gdestroy: casgstatus(_Grunning, _Gdead);
        dropg; gfput; schedule(). A G that exits locked to its thread takes
        the thread with it (mexit)."""
        g = mp.curg
        assert g is not None
        gp = self.allg[g]
        self.casgstatus(g, G_RUNNING, G_DEAD)
        gp.destroy()
        mp.curg = None
        self.sched.gfput(g)
        self.on_goexit(g)
        if mp.lockedg == g:
            mp.lockedg = None
            gp.lockedm = None
            self.mexit(mp)
        return ("top",)

    @traced
    def mexit(self, mp: M) -> None:
        """mexit: handoffp(releasep()); then the thread exits and its M is
        freed (a later newm may reuse the slot)."""
        self.handoffp(mp, self.releasep(mp))
        self.point(mp, "mexit")
        with self.sched.lock:
            self.sched.mcount -= 1
        raise ThreadExit

    def on_goexit(self, g: int) -> None:
        """A hook for counting (runtime/stress.py)."""

    # ---- entering a system call (leaving it: runtime/syscall.py) -----------------------

    def entersyscall(self, mp: M) -> None:
        """reentersyscall (Go 1.25): casgstatus(_Grunning, _Gsyscall);
        pp.m = 0; m.oldp = pp; m.p = 0; store pp.status = _Psyscall. From
        here the P is nobody's: the M may CAS it back when the call returns,
        sysmon (or another exiting M) may take it."""
        assert mp.curg is not None and mp.p is not None
        self.casgstatus(mp.curg, G_RUNNING, G_SYSCALL)
        pp = self.allp[mp.p]
        pp.m = None
        mp.oldp = pp.id
        mp.p = None
        pp.status.store(P_SYSCALL)

    @traced
    def entersyscallblock(self, mp: M) -> None:
        """entersyscallblock: casgstatus(_Grunning, _Gsyscall); pp.syscalltick++;
        handoffp(releasep()) at once, without waiting for sysmon."""
        assert mp.curg is not None
        self.casgstatus(mp.curg, G_RUNNING, G_SYSCALL)
        pp = self.releasep(mp)
        pp.syscalltick += 1
        self.handoffp(mp, pp)

    # Provided by the Runtime and runtime/syscall.py.
    def exitsyscall(self, mp: M) -> Next:
        raise NotImplementedError

    def new_g(self) -> int:
        raise NotImplementedError

    def choose(self, mp: M, where: str, options: Any, **frame: Any) -> Any:
        raise NotImplementedError
