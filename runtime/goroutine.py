"""User code and what it asks of the scheduler (model/goroutine.py, step for
step): newproc, goready, gopark, Gosched, goyield, goexit, preemption,
runqput's two halves, entering a system call.

The M running a G (pc RUN) takes one step per instruction: it looks at the
instruction the G's body stopped before and does the runtime's part of it;
where the instruction completes, it resumes the body (runtime/program.py),
which runs the user code and stops before the next instruction.
"""

from __future__ import annotations

from model.machine import TRUNCATED, choices, step
from model.pcs import PC
from model.state import G_DEAD, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING, P_SYSCALL
from model.workloads import Op
from runtime.locks import Unit
from runtime.machine import plan
from runtime.queues import Queues


class Goroutines(Queues):
    grow_gs = False  # a stress run has no G-slot bound: newproc makes new G's

    @choices(PC.RUN)
    def run_choices(self, m: int) -> list[tuple]:
        """What the running G can do next: its instruction (for `ready`, once
        per goroutine waiting on the semaphore, oldest first), or, when sysmon
        asked for a preemption and async preemption is on, take the signal."""
        gp = self.allg[self.allm[m].curg]  # type: ignore[index]
        op = self.code.ops[gp.pc]
        if op == Op.READY:
            sema = self.semas[self.code.args[gp.pc]]
            waiters = list(sema.waiters)  # one copy: a racy reader must not iterate it
            opts: list[tuple] = [("ready", w) for w in waiters] or [("ready", None)]
        else:
            opts = [("user", None)]
        if self.cfg.async_preempt and gp.preempt:
            opts.append(("async", None))
        return opts

    @plan(PC.RUN)
    def plan_run(self, m: int, c: tuple) -> list[Unit]:
        mp = self.allm[m]
        gp = self.allg[mp.curg]  # type: ignore[index]
        pp = self.allp[mp.p]  # type: ignore[index]
        units = [mp.unit, gp.unit, pp.unit]
        pc = gp.pc
        op = self.code.ops[pc]
        if c[0] == "async" or self.preempt_at(gp, op):
            # gopreempt_m -> goschedImpl: globrunqput under sched.lock
            return units + [self.sched.unit, self.sched.u_runqsize]
        if op == Op.GOSCHED or (op == Op.YIELD and len(pp.runq) == pp.runq.size):
            units += [self.sched.unit, self.sched.u_runqsize]  # globrunqput(batch)
        if op == Op.GO:
            units.append(self.gfree.unit)
            child = self.gfree.peek()
            if child is not None:
                units.append(self.allg[child].unit)
        elif op == Op.EXIT:
            units.append(self.gfree.unit)
            if mp.lockedg == mp.curg:  # mexit: handoffp(releasep())
                units += [self.sched.u_idlepMask]
        elif op in (Op.PARK, Op.READY):
            units.append(self.semas[self.code.args[pc]].unit)
            if c[1] is not None:
                units.append(self.allg[c[1]].unit)
        return units

    @staticmethod
    def preempt_at(gp, op: int) -> bool:
        """A preemption request is honoured at the instruction: every one but
        a call-free loop (`spin`) and the return (`exit`) is a call, whose
        prologue sees stackguard0 == stackPreempt (newstack)."""
        return bool(gp.preempt) and op not in (Op.SPIN, Op.EXIT)

    @step(PC.RUN)
    def run(self, m: int, c: tuple) -> str:
        code = self.code
        mp = self.allm[m]
        g = mp.curg
        assert g is not None
        gp = self.allg[g]
        pc = gp.pc
        kind, target = c
        if kind == "async":
            return self.asyncPreempt(m, g)
        op = code.ops[pc]
        preempt = self.preempt_at(gp, op)
        if op == Op.GO and not preempt and self.gfree.peek() is None and not self.grow_gs:
            return TRUNCATED  # more goroutines alive than the configuration's G slots
        mp.signal = 0  # a preemption signal that found nothing to preempt
        self.allp[mp.p].userticks += 1  # type: ignore[index]  # time passes (sysmon's clock)
        if preempt:
            return self.gopreempt_m(m, g, "sync")
        if op == Op.COMPUTE:
            gp.resume()
            return f"run.compute(m={m}, g={g})"
        if op == Op.SPIN:
            gp.resume()  # one iteration of the loop; it stays on this instruction
            return f"run.spin(m={m}, g={g})"
        if op == Op.GO:
            return self.newproc(m, g, code.args[pc])
        if op == Op.GOSCHED:
            gp.resume()
            return self.goschedImpl(m, g, "Gosched")
        if op == Op.YIELD:
            gp.resume()
            return self.goyield_m(m, g)
        if op == Op.PARK:
            return self.gopark(m, g, code.args[pc])
        if op == Op.READY:
            return self.ready(m, g, code.args[pc], target)
        if op == Op.SYSCALL:
            gp.resume()
            return self.entersyscall(m, g)
        if op == Op.SYSCALL_BLOCK:
            gp.resume()
            return self.entersyscallblock(m, g)
        if op == Op.LOCK:
            gp.resume()
            mp.lockedg = g  # dolockOSThread: m.lockedg = gp; gp.lockedm = m
            return f"LockOSThread(m={m}, g={g})"
        if op == Op.UNLOCK:
            gp.resume()
            mp.lockedg = None  # dounlockOSThread
            return f"UnlockOSThread(m={m}, g={g})"
        assert op == Op.EXIT
        return self.goexit0(m, g)

    # ---- spawning and readying: runqput(pp, gp, next=true), then wakep ------

    def newproc(self, m: int, g: int, prog: int) -> str:
        """newproc: newproc1 takes a dead G (gfget) and makes it _Grunnable
        running `prog`; runqput(pp, newg, next=true); wakep()."""
        child = self.gfget()
        self.allg[g].resume()
        newg = self.allg[child]
        newg.status = G_RUNNABLE  # casgstatus(newg, _Gdead, _Grunnable)
        self.gfree.goidgen += 1
        newg.start(self.code, self.code.entry[prog], self.gfree.goidgen)
        p = self.allm[m].p
        assert p is not None
        self.runqput_next(m, p, child)
        return f"newproc(m={m}, g={g}, child={child}, p={p})"

    def gfget(self) -> int:
        """gfget: the lowest dead G (its id is its slot), or a new one when
        the run has no G-slot bound."""
        g = self.gfree.get()
        if g is None:
            assert self.grow_gs, "newproc without a free G slot"
            g = self.new_g()
        return g

    def ready(self, m: int, g: int, sema: int, w: int | None) -> str:
        """ready(gp, next=true) as called by goready: casgstatus(gp, _Gwaiting,
        _Grunnable); runqput(pp, gp, next=true) on the readier's P; wakep().
        With no waiter the wakeup is left pending on the semaphore."""
        sm = self.semas[sema]
        self.allg[g].resume()
        if w is None:
            sm.pending = 1
            return f"ready.pending(m={m}, g={g}, sema={sm.name})"
        if not self.casgstatus(m, w, G_WAITING, G_RUNNABLE):
            return f"ready(m={m}, g={g}, target={w}) throws"
        sm.waiters.remove(w)
        self.allg[w].resume()  # it resumes after its park
        p = self.allm[m].p
        assert p is not None
        self.runqput_next(m, p, w)
        return f"goready(m={m}, g={g}, target={w}, p={p})"

    def runqput_next(self, m: int, p: int, g: int) -> None:
        """runqput(pp, gp, next=true), first half: CAS pp.runnext from old to gp.
        The old runnext, if any, goes to the ring in the next step."""
        old = self.allp[p].runq.put_next(g)
        if old is not None:
            self.allm[m].gp = old
            self.call(m, PC.RUNQPUT_RING, PC.RUN)
        else:
            self.call(m, PC.WAKEP_CAS, PC.RUN)

    @plan(PC.RUNQPUT_RING)
    def plan_runqput_ring(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        return [mp.unit, self.allp[mp.p].unit]  # type: ignore[index]

    @step(PC.RUNQPUT_RING)
    def runqput_ring(self, m: int, c: None) -> str:
        """runqput, second half: the kicked-out runnext goes to the ring tail;
        if the ring is full, runqputslow claims half of it with a CAS on
        runqhead and the next step moves them to the global queue."""
        mp = self.allm[m]
        p = mp.p
        g = mp.gp
        assert p is not None and g is not None
        mp.gp = None
        if self.ring_has_room(p):
            self.ring_put(p, g)
            mp.pc = PC.WAKEP_CAS
            return f"runqput.ring(m={m}, p={p}, g={g})"
        half = self.runq_len(p) // 2
        claimed = self.runqgrab_own_half(p, half)
        self.set_batch(m, claimed + [g])
        mp.pc = PC.RUNQPUTSLOW_GLOBAL
        return f"runqputslow.grab(m={m}, p={p}, batch={claimed + [g]})"

    def runqgrab_own_half(self, p: int, n: int) -> list[int]:
        """runqputslow's CAS of runqhead: the n oldest G's of the owner's ring."""
        claimed = self.allp[p].runq.claim(n)
        assert claimed is not None, "runqputslow lost its CAS while holding the P"
        return claimed

    @plan(PC.RUNQPUTSLOW_GLOBAL)
    def plan_runqputslow_global(self, m: int, c: None) -> list[Unit]:
        return [self.allm[m].unit, self.sched.unit, self.sched.u_runqsize]

    @step(PC.RUNQPUTSLOW_GLOBAL)
    def runqputslow_global(self, m: int, c: None) -> str:
        """runqputslow: lock(&sched.lock); globrunqputbatch(batch); unlock."""
        gs = self.take_batch(m)
        self.globrunqputbatch(gs)
        self.allm[m].pc = PC.WAKEP_CAS
        return f"runqputslow.global(m={m}, batch={gs})"

    # ---- giving up the G: gopark, Gosched, preemption, goexit ---------------

    def gopark(self, m: int, g: int, sema: int) -> str:
        """gopark -> park_m, under the semaphore's lock: a pending wakeup is
        consumed and the G goes on; otherwise casgstatus(_Grunning,
        _Gwaiting), the G joins the waiters, dropg, schedule()."""
        sm = self.semas[sema]
        mp = self.allm[m]
        if sm.pending:
            sm.pending = 0
            self.allg[g].resume()
            return f"park.pending(m={m}, g={g}, sema={sm.name})"
        if not self.casgstatus(m, g, G_RUNNING, G_WAITING):
            return f"gopark(m={m}, g={g}) throws"
        sm.waiters.append(g)
        mp.curg = None  # dropg
        mp.pc = PC.SCHEDULE
        return f"gopark(m={m}, g={g}, sema={sm.name})"

    def goschedImpl(self, m: int, g: int, why: str) -> str:
        """goschedImpl: casgstatus(_Grunning, _Grunnable); dropg; lock;
        globrunqput(gp); unlock; wakep(); schedule()."""
        if not self.casgstatus(m, g, G_RUNNING, G_RUNNABLE):
            return f"{why}(m={m}, g={g}) throws"
        self.allm[m].curg = None
        self.globrunqput(g)
        self.call(m, PC.WAKEP_CAS, PC.SCHEDULE)
        return f"{why}(m={m}, g={g})"

    def goyield_m(self, m: int, g: int) -> str:
        """goyield -> goyield_m: casgstatus(_Grunning, _Grunnable); dropg;
        runqput(pp, gp, next=false): the tail of the own ring, no wakep;
        schedule(). A full ring sends its older half and the G to the
        global queue, as runqputslow does, in this same step."""
        if not self.casgstatus(m, g, G_RUNNING, G_RUNNABLE):
            return f"goyield(m={m}, g={g}) throws"
        mp = self.allm[m]
        mp.curg = None
        p = mp.p
        assert p is not None
        if self.ring_has_room(p):
            self.ring_put(p, g)
        else:
            spill = self.runqgrab_own_half(p, self.runq_len(p) // 2)
            self.globrunqputbatch(spill + [g])
        mp.pc = PC.SCHEDULE
        return f"goyield(m={m}, g={g}, p={p})"

    def gopreempt_m(self, m: int, g: int, how: str) -> str:
        """A preemption request honoured: gopreempt_m -> goschedImpl(gp, true).
        The G resumes at the same instruction."""
        return self.goschedImpl(m, g, f"preempt.{how}")

    def asyncPreempt(self, m: int, g: int) -> str:
        """The preemption signal lands at an async safe point:
        doSigPreempt -> asyncPreempt -> asyncPreempt2 -> gopreempt_m."""
        self.allm[m].signal = 0
        return self.gopreempt_m(m, g, "async")

    def goexit0(self, m: int, g: int) -> str:
        """goexit1 -> goexit0 -> gdestroy: casgstatus(_Grunning, _Gdead);
        dropg; gfput; schedule()."""
        if not self.casgstatus(m, g, G_RUNNING, G_DEAD):
            return f"goexit(m={m}, g={g}) throws"
        self.allg[g].destroy()
        self.gfree.put(g)  # gfput
        mp = self.allm[m]
        mp.curg = None
        self.on_goexit(g)
        if mp.lockedg == g:  # a locked G takes its thread with it: mexit
            mp.lockedg = None
            mp.pp = self.releasep(m)
            mp.spin_arg = 0
            self.call(m, PC.HANDOFFP, PC.MEXIT)
            return f"goexit(m={m}, g={g}, locked: mexit)"
        mp.pc = PC.SCHEDULE
        return f"goexit(m={m}, g={g})"

    def on_goexit(self, g: int) -> None:  # a stress run counts completions here
        pass

    # ---- system calls (entering; exitsyscall is in runtime/syscall.py) --------

    def entersyscall(self, m: int, g: int) -> str:
        """reentersyscall (Go 1.25): casgstatus(_Grunning, _Gsyscall);
        pp.m = 0; m.oldp = pp; m.p = 0; atomic store pp.status = _Psyscall."""
        if not self.casgstatus(m, g, G_RUNNING, G_SYSCALL):
            return f"entersyscall(m={m}, g={g}) throws"
        mp = self.allm[m]
        p = mp.p
        assert p is not None
        pp = self.allp[p]
        pp.m = None
        mp.oldp = p
        mp.p = None
        pp.status.store(P_SYSCALL)
        mp.pc = PC.IN_SYSCALL
        return f"entersyscall(m={m}, g={g}, p={p})"

    def entersyscallblock(self, m: int, g: int) -> str:
        """entersyscallblock: pp.syscalltick++; casgstatus(_Grunning,
        _Gsyscall); handoffp(releasep()) at once. m.oldp stays nil."""
        if not self.casgstatus(m, g, G_RUNNING, G_SYSCALL):
            return f"entersyscallblock(m={m}, g={g}) throws"
        p = self.releasep(m)
        self.allp[p].syscalltick += 1
        self.allm[m].pp = p
        self.call(m, PC.HANDOFFP, PC.IN_SYSCALL)
        return f"entersyscallblock(m={m}, g={g}, p={p})"
