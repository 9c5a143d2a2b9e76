"""The open world: the scheduler with the program left open, for checking
executions of the real runtime (checker/golang/conform.py).

A shipped workload fixes what each goroutine does next. A real program's
goroutines do whatever the trace says they did, so here the goroutine an
M runs may take any user step (spawn, block, wake another, yield, enter a
system call, exit) and the conformance search picks the one the trace
shows. The scheduler's own steps are the profile's (model/go126.py for Go
1.26 and later), unchanged.

The real runtime also has sources of work the model leaves out (timers,
netpoll, the GC's workers, the trace reader, sysmon's injectglist; see
docs/model.md). Where a trace shows one of them, the open world has a step
for it, each following the Go code it stands for and named in the
trace's vocabulary in docs/conformance.md:

    timer        an M looking for work runs an expired timer that readies a
                 goroutine: ready(gp, next=true) onto its own P, wakep(),
                 and findRunnable starts over (findRunnable's
                 pp.timers.check, stealWork's timer pass -> goroutineReady)
    gcworker     findRunnable readies a runtime goroutine itself and runs
                 it: a GC mark worker (gcController.findRunnableGCWorker) or
                 the trace reader (traceReader); schedule() then wakep()s
                 for the tryWakeP it returns
    netpoll      findRunnable step r: an M that found nothing blocks in
                 netpoll(delay) instead of parking, if no M does already
                 (sched.lastpoll, cleared while it polls: handoffp's
                 last-P rule reads it); it returns when a timer is due:
                 pidleget, then (a step later: other Ms may take and
                 drop Ps in between) acquirep and findRunnable from the
                 top, or stopm without an idle P
    inject       sysmon, or the M back from netpoll without a P, readies a
                 goroutine with injectglist: the global queue, then
                 startIdle starts an M on an idle P
    allocm       startm called by an M without a P (sysmon's retake, an M
                 in entersyscallblock) has to create a thread: newm ->
                 allocm borrows the P (acquirep) for its allocations and
                 releases it before the thread starts (whether an idle M
                 existed is not in the trace, so both are allowed)
    foreachp     forEachP (the tracer's traceAdvance, trace.Stop) run by a
                 goroutine takes a P out of a system call
                 (setBlockOnExitSyscall, takeP) and handoffp()s it
    goyield      a goroutine yields to the tail of its P's ring (goyield_m:
                 the runtime's semaphore hand-off), which the trace also
                 reports as "preempted"
    go-blocked   newproc1(parked=true): a goroutine created _Gwaiting

Goroutines that were runnable when the trace started are in no queue the
trace tells of. They are kept runnable in no queue (the "limbo": runnable
and named by no queue, M or transit slot) and any M looking for work may
take one, as if it had been in whatever queue it was in.

Two steps of the runtime emit their trace event before they take
sched.lock: goschedImpl (Gosched, preemption) and exitsyscallNoP change the
G's status, dropg, then lock and globrunqput. In the open world they are two
steps each (GOSCHED_LOCK, EXITSYSCALL_NOP_LOCK), so that another M may queue
its own G in between, as the runtime lets it: the trace's order of two such
events is not always the global queue's.

Time is not in the model. sysmon may ask any running goroutine to yield
and may retake any P in a system call at any moment: the 10ms and 20us
thresholds are not checked. Likewise the `schedtick % 61` check of the
global queue may fire on any round: schedtick is not in the trace.

The search tells the model what the next observation needs (`expect`), so
that it offers only matching user and environment choices: a choice that
the observation does not name could not match it anyway. Two unobserved
steps are offered only when the observation needs them, which loses no
observable behaviour: sysmon's preemption request (its only effect is to
allow the preemption the trace then shows) and taking a goroutine out of
the limbo (followed by running it).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations, product

from model.action import Action, Refs
from model.config import Config
from model.gmp import GMPModel
from model.machine import TRUNCATED, choices, step
from model.pcs import PC
from model.state import (
    G_DEAD,
    G_RUNNABLE,
    G_RUNNING,
    G_SYSCALL,
    G_WAITING,
    NONE,
    Layout,
    freeze_wide,
    q_pop_top,
    q_push,
    thaw_wide,
    view_wide,
)
from model.symmetry import Symmetry
from model.workloads import Workload

GO_RUNQ = 256  # len(p.runq): a P's local ring in Go

USER_OPS = (
    "go",
    "go-blocked",
    "gosched",
    "preempt",
    "goyield",
    "park",
    "ready",
    "syscall",
    "syscall-block",
    "exit",
)
# The user steps after which the G's M schedules again, and the suffix of
# their variant with the G locked to the M.
STOPS = frozenset({"gosched", "preempt", "goyield", "park", "exit"})
LOCKED = "+locked"
ENV_OPS = ("timer", "gcworker", "netpoll", "inject", "allocm", "foreachp")

# findRunnable's steps before it has a G, with the M holding its P: where a
# timer can fire or a runtime goroutine can be chosen.
LOOKING = frozenset(
    {
        PC.SCHEDULE,
        PC.FR_RUNQGET,
        PC.FR_GLOBRUNQ,
        PC.FR_STEAL_CHECK,
        PC.FR_BECOME_SPINNING,
        PC.FR_STEAL,
        PC.FR_DROP,
    }
)


@dataclass
class Snapshot:
    """Where things are when a trace starts, in model slots (state_of)."""

    running: dict[int, tuple[int, int]]  # G -> (M, P)
    syscall: dict[int, tuple[int, int]]  # G -> (M, P or NONE)
    looking: dict[int, int]  # M -> P: Ms in the scheduler
    runnable: list[int]  # Gs runnable in no known queue (the limbo)
    waiting: list[int]
    idle_ps: list[int]
    # The M whose goroutine started the trace (runtime.StartTrace), if the
    # trace shows the end of the tracer's stop-the-world: it has yet to
    # return from startTheWorldWithSema's wakep().
    wakep: int = NONE


@dataclass(frozen=True)
class Expect:
    """What the next observation can use: user steps (at RUN), environment
    steps, the goroutine they name, and the lazy unobserved steps."""

    user: frozenset[str] = frozenset()
    env: frozenset[str] = frozenset()
    target: int = NONE  # the G slot a ready/timer/gcworker/inject names
    preempt: int = NONE  # the G slot sysmon may ask to yield
    limbo: int = NONE  # the G slot an M may take out of the limbo
    # The G that stops may be locked to its thread (LockOSThread): the
    # trace's next event of the thread lets its M wait (stoplockedm).
    locked: bool = False


ANYTHING = Expect(frozenset(USER_OPS), frozenset(ENV_OPS))


@dataclass(frozen=True)
class OpenWorkload(Workload):
    """The placeholder workload of an open model: no programs; `slots` G
    slots (any number: the open world's layout is its own, and wide when
    there are more than 255)."""

    slots: int = 1


def open_workload(gs: int) -> Workload:
    return OpenWorkload(
        "open",
        "goroutines do what the trace says they do",
        {"main": ["exit"]},
        max_gs=min(gs, 250),
        slots=gs,
    )


class OpenWorld(GMPModel):
    """The open world, on top of a profile (build it with open_model)."""

    mutation_name = ""

    def __init__(self, cfg: Config, workload: Workload | None = None, symmetry: bool = False):
        super().__init__(cfg, workload=workload, symmetry=False)
        gs = getattr(workload, "slots", 0) or self.L.nG
        # Go's local ring holds 256. With fewer goroutines than that it never
        # overflows, and a ring of `gs` is the same; with more, it is Go's,
        # and runqputslow moves half of it to the global queue as in Go. The
        # batch an M holds takes what a steal, a global-queue batch (up to
        # len(runq)/2 = 128, globrunqgetbatch) or runqputslow hands it.
        ring = min(max(gs, 2), GO_RUNQ)
        wide = gs > NONE
        if wide:
            gs += 1  # the slot whose id is NONE is never used
        self.L = Layout(
            cores=cfg.cores,
            max_ms=cfg.ms,
            max_gs=gs,
            ring=ring,
            semas=0,
            lastpoll=True,
            batch=min(GO_RUNQ // 2 + 1, max(gs, 2)),
            wide=wide,
        )
        if wide:
            # a wide state: two bytes a field (model/state.py freeze_wide)
            self.freeze, self.thaw, self.view = freeze_wide, thaw_wide, view_wide  # type: ignore[method-assign, assignment]
        self.symmetry = Symmetry(self.L) if symmetry else None
        self.expect: Expect = ANYTHING

    # ---- user code: whatever the trace says --------------------------------

    @choices(PC.RUN)
    def run_choices(self, t: bytes, m: int) -> list[tuple[str, int]]:
        L, exp = self.L, self.expect
        g = t[L.curg[m]]
        out: list[tuple[str, int]] = []
        for op in exp.user:
            if op == "ready":
                for w in self._waiting(t, exp.target):
                    out.append(("ready", w))
            elif op == "preempt":
                if t[L.g_preempt[g]]:
                    out.append(("preempt", NONE))
            else:
                out.append((op, NONE))
        if exp.locked:
            out += [(op + LOCKED, w) for op, w in out if op in STOPS]
        return out

    def _waiting(self, t: bytes | list[int], target: int) -> list[int]:
        L = self.L
        if target != NONE:
            return [target] if t[L.g_status[target]] == G_WAITING else []
        return [w for w in range(L.nG) if t[L.g_status[w]] == G_WAITING]

    @step(PC.RUN)
    def run(self, s: list[int], m: int, c: tuple[str, int]) -> Action:
        """The G's step. Whether it is locked to its thread (LockOSThread,
        UnlockOSThread) is not in the trace and matters only where it stops
        (its M then waits for it: stoplockedm, or exits with it: mexit):
        a stop is taken locked (kind + LOCKED) or not, and m.lockedg set
        accordingly; in between, the G may have locked and unlocked any
        number of times."""
        L = self.L
        kind, w = c
        g = s[L.curg[m]]
        if kind in STOPS or kind.endswith(LOCKED):
            locked = kind.endswith(LOCKED)
            kind = kind.removesuffix(LOCKED)
            s[L.lockedg[m]] = g if locked else NONE
        if kind == "go" or kind == "go-blocked":
            return self.newproc_open(s, m, g, blocked=kind == "go-blocked")
        if kind == "gosched":
            return self.goschedImpl(s, m, g, "Gosched")
        if kind == "preempt":
            return self.gopreempt_m(s, m, g, "signal")
        if kind == "goyield":
            return self.goyield_m(s, m, g)
        if kind == "park":
            return self.gopark_open(s, m, g)
        if kind == "ready":
            return self.ready_open(s, m, g, w)
        if kind == "syscall":
            return self.entersyscall(s, m, g)
        if kind == "syscall-block":
            return self.entersyscallblock(s, m, g)
        assert kind == "exit"
        return self.goexit0(s, m, g)

    def newproc_open(self, s: list[int], m: int, g: int, blocked: bool) -> Action:
        """newproc -> newproc1: the lowest free G slot becomes _Grunnable
        and goes to runnext (runqput(pp, newg, true); wakep()), or, created
        parked (newproc1's `parked`), _Gwaiting on no queue."""
        L = self.L
        child = self.free_g(s)
        if child == NONE:
            return TRUNCATED
        s[L.g_pc[child]] = 0
        s[L.g_preempt[child]] = 0
        p = s[L.m_p[m]]
        if blocked:
            s[L.g_status[child]] = G_WAITING
            return Action("newproc", m=m, g=g, child=child).flag("parked")
        s[L.g_status[child]] = G_RUNNABLE
        self.runqput_next(s, m, p, child)
        return Action("newproc", m=m, g=g, child=child, p=p)

    def gopark_open(self, s: list[int], m: int, g: int) -> Action:
        """gopark -> park_m: casgstatus(_Grunning, _Gwaiting); dropg;
        schedule(). (Why it blocks — channel, mutex, sleep — is the trace's
        reason; the scheduler does the same for all.)"""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_WAITING):
            return Action("gopark", m=m, g=g).throws()
        s[L.curg[m]] = NONE
        s[L.pc[m]] = PC.SCHEDULE
        return Action("gopark", m=m, g=g)

    def ready_open(self, s: list[int], m: int, g: int, w: int) -> Action:
        """goready(gp) -> ready(gp, next=true): casgstatus(_Gwaiting,
        _Grunnable); runqput on the readier's P, runnext; wakep()."""
        L = self.L
        if not self.casgstatus(s, m, w, G_WAITING, G_RUNNABLE):
            return Action("ready", m=m, g=g, target=w).throws()
        p = s[L.m_p[m]]
        self.runqput_next(s, m, p, w)
        return Action("goready", m=m, g=g, target=w, p=p)

    # ---- where the trace sees a status change before the lock --------------------

    def goschedImpl(self, s: list[int], m: int, g: int, why: str) -> Action:
        """goschedImpl: casgstatus(_Grunning, _Grunnable) — the trace's
        GoStop is emitted here — and dropg; then lock(&sched.lock);
        globrunqput (the next step, GOSCHED_LOCK). Another M may take the
        lock first and queue its own G: the trace's order of two such
        events need not be the queue's. (The closed world does all of it
        in one step: the G in between is reachable by no other actor, and
        nothing observes the moment its status changes.)"""
        L = self.L
        if not self.casgstatus(s, m, g, G_RUNNING, G_RUNNABLE):
            return Action(why, m=m, g=g).throws()
        s[L.curg[m]] = NONE
        s[L.gp[m]] = g
        s[L.pc[m]] = PC.GOSCHED_LOCK
        return Action(why, m=m, g=g)

    @step(PC.GOSCHED_LOCK)
    def gosched_globrunqput(self, s: list[int], m: int, c: None) -> Action:
        """goschedImpl: lock; globrunqput(gp) — the tail of the global queue;
        unlock; wakep(); schedule()."""
        L = self.L
        g = s[L.gp[m]]
        s[L.gp[m]] = NONE
        self.globrunqput(s, g)
        self.call(s, m, PC.WAKEP_CAS, PC.SCHEDULE)
        return Action("goschedImpl.globrunqput", m=m, g=g)

    @step(PC.EXITSYSCALL0)
    def exitsyscall0(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscallNoP (on g0): casgstatus(gp, _Grunning, _Grunnable) —
        the trace's GoSysExit and GoStop — and dropg; then (next step,
        EXITSYSCALL_NOP_LOCK) lock; pidleget or globrunqput. As in
        goschedImpl, another M may queue a G under the lock in between."""
        L = self.L
        g = s[L.curg[m]]
        if not self.casgstatus(s, m, g, G_RUNNING, G_RUNNABLE):
            return Action("exitsyscallNoP", m=m, g=g).throws()
        s[L.curg[m]] = NONE
        s[L.gp[m]] = g
        s[L.pc[m]] = PC.EXITSYSCALL_NOP_LOCK
        return Action("exitsyscallNoP", m=m, g=g)

    @step(PC.EXITSYSCALL_NOP_LOCK)
    def exitsyscall_nop_lock(self, s: list[int], m: int, c: None) -> Action:
        """exitsyscallNoP, under sched.lock: pidleget; none: globrunqput(gp),
        unlock, stopm; else unlock, acquirep(pp), execute(gp, false)."""
        L = self.L
        g = s[L.gp[m]]
        s[L.gp[m]] = NONE
        return self.exitsyscall0_place(s, m, g, "exitsyscallNoP.lock")

    # ---- what the runtime does that the model leaves out --------------------

    @staticmethod
    def view(t: bytes) -> bytes:  # type: ignore[override]  # the state itself, indexable
        """The state's fields, indexable: the state itself (one byte a
        field), or a two-byte view of it for a wide layout."""
        return t

    def free_g(self, t: bytes | list[int]) -> int:
        """newproc1's gfget: the lowest G slot not in use (never the one whose
        id is NONE, in a wide layout)."""
        L = self.L
        for x in range(L.nG):
            if t[L.g_status[x]] == G_DEAD and x != NONE:
                return x
        return NONE

    def globrunqgetbatch(self, s: list[int], n: int) -> list[int]:
        """findRunnable asks for len(pp.runq)/2 = 128 (the open world's ring
        is sized to the trace, not Go's 256)."""
        return super().globrunqgetbatch(s, GO_RUNQ // 2)

    def step_successors(self, t: bytes) -> tuple[list[tuple[int, Action, bytes]], bool]:
        t = self.view(t)
        out, truncated = super().step_successors(t)
        if t[self.L.throw]:
            return out, truncated
        exp = self.expect
        if exp.env or exp.limbo != NONE:
            for a in range(self.L.nM):
                out.extend(self.env_successors(t, a, exp))
        return out, truncated

    def env_successors(self, t: bytes, m: int, exp: Expect) -> list[tuple[int, Action, bytes]]:
        L = self.L
        pc = t[L.pc[m]]
        out = []
        if pc in LOOKING:
            if "timer" in exp.env or "gcworker" in exp.env:
                for w in self._waiting(t, exp.target):
                    if "timer" in exp.env:
                        s = self.thaw(t)
                        out.append((m, self.timer_ready(s, m, w), self._frozen(s)))
                    if "gcworker" in exp.env:
                        s = self.thaw(t)
                        out.append((m, self.findRunnable_runtime_g(s, m, w), self._frozen(s)))
            w = exp.limbo
            if w != NONE and self.in_limbo(t, w):
                s = self.thaw(t)
                out.append((m, self.take_from_limbo(s, m, w), self._frozen(s)))
        elif pc == PC.NETPOLL:
            if "inject" in exp.env:
                for w in self._waiting(t, exp.target):
                    s = self.thaw(t)
                    out.append((m, self.netpoll_injectglist(s, m, w), self._frozen(s)))
        elif pc == PC.RUN and "foreachp" in exp.env:
            for p in range(L.nP):
                if self.in_syscall(t, p):
                    s = self.thaw(t)
                    out.append((m, self.forEachP_takeP(s, m, p), self._frozen(s)))
        return out

    def forEachP_takeP(self, s: list[int], m: int, p: int) -> Action:
        """forEachP, run by this M's goroutine on the system stack: "Force Ps
        currently in a system call into _Pidle and hand them off":
        setBlockOnExitSyscall(p2); thread.takeP(); handoffp(p2). The
        goroutine goes on afterwards."""
        L = self.L
        self.takeP(s, p)  # type: ignore[attr-defined]  # the go1.26 profile's (model/go126.py)
        s[L.pp[m]] = p
        s[L.spin_arg[m]] = 0
        self.call(s, m, PC.HANDOFFP, PC.RUN)
        return Action("forEachP.takeP", m=m, p=p)

    # ---- startm: whether it finds an idle M is not in the trace -----------------

    @choices(PC.STARTM)
    def startm_choices(self, t: bytes, a: int) -> list[str]:
        if "allocm" in self.expect.env and t[self.L.m_p[a]] == NONE:
            return ["start", "allocm"]
        return ["start"]

    @step(PC.STARTM)
    def startm(self, s: list[int], a: int, how: str) -> Action:  # type: ignore[override]  # the open world's choices
        """startm; or, with no idle M, newm -> allocm(pp, ...), which
        borrows pp when the caller has no P: "temporarily borrow p for
        mallocs in this function" (acquirep)."""
        if how == "start":
            return super().startm(s, a, None)
        p = s[self.L.pp[a]]
        self.acquirep(s, a, p)
        s[self.L.pc[a]] = PC.ALLOCM
        return self.call_by(a, "allocm.acquirep", p=p)

    @step(PC.ALLOCM)
    def allocm_releasep(self, s: list[int], a: int, c: None) -> Action:
        """allocm gives the borrowed P back (releasep) and newm starts the
        thread with nextp = pp (a parked model M stands for the new thread)."""
        self.releasep(s, a)
        label = super().startm(s, a, None)
        if label is TRUNCATED:  # no thread slot left: the step is not taken
            return TRUNCATED
        return Action.plain_text("allocm.releasep").chain(label)

    def _leave_findRunnable(self, s: list[int], m: int) -> None:
        L = self.L
        s[L.mask[m]] = 0
        s[L.steal_pass[m]] = 0
        s[L.spin_arg[m]] = 0

    def steal_got(
        self, s: list[int], m: int, p: int, victim: int, stolen: list[int], how: str = ""
    ) -> Action:
        s[self.L.spin_arg[m]] = 0  # the Ps done for this pass (passive visits)
        return super().steal_got(s, m, p, victim, stolen, how)

    def timer_ready(self, s: list[int], m: int, w: int) -> Action:
        """A timer run by this M (findRunnable's pp.timers.check, or
        stealWork's pass over other Ps' timers) readies w: goroutineReady ->
        goready -> ready(gp, next=true) onto this M's P; wakep(); and
        findRunnable starts over (it finds w in runnext)."""
        L = self.L
        p = s[L.m_p[m]]
        s[L.g_status[w]] = G_RUNNABLE
        old = s[L.runnext[p]]
        s[L.runnext[p]] = w
        if old != NONE:  # the kicked-out runnext, at the ring tail
            if self.ring_has_room(s, p):
                self.ring_put(s, p, old)
            else:  # runqputslow: half of the ring and it to the global queue
                half = self.runqgrab_own_half(s, p, self.runq_len(s, p) // 2)
                self.globrunqputbatch(s, half + [old])
        self._leave_findRunnable(s, m)
        self.call(s, m, PC.WAKEP_CAS, PC.SCHEDULE)
        return Action("timer.goready", m=m, p=p, g=w)

    def findRunnable_runtime_g(self, s: list[int], m: int, w: int) -> Action:
        """findRunnable returns a runtime goroutine it readied itself
        (traceReader, gcController.findRunnableGCWorker: casgstatus
        _Gwaiting -> _Grunnable, no queue) with tryWakeP; schedule() calls
        wakep() and runs it. (The model wakes before resetspinning instead
        of after: both are wakeups from the same M before execute.)"""
        L = self.L
        s[L.g_status[w]] = G_RUNNABLE
        s[L.gp[m]] = w
        s[L.inherit[m]] = 0
        self._leave_findRunnable(s, m)
        self.call(s, m, PC.WAKEP_CAS, PC.EXECUTE)
        return Action("findRunnable.runtime-g", m=m, g=w)

    def in_limbo(self, t: bytes | list[int], w: int) -> bool:
        """Runnable, and named by no queue, M or transit slot."""
        L = self.L
        return t[L.g_status[w]] == G_RUNNABLE and w not in L.g_refs(t)

    def take_from_limbo(self, s: list[int], m: int, w: int) -> Action:
        """findRunnable finds w, which was runnable before the trace began, in
        whichever queue it was (the trace does not say)."""
        self._leave_findRunnable(s, m)
        self.to_execute(s, m, w, False)
        return Action("findRunnable.before-trace", m=m, g=w)

    # ---- the network poller: sched.lastpoll -------------------------------------

    def nobody_polling(self, t: bytes | list[int]) -> bool:
        """`sched.lastpoll != 0`: no M is blocked in netpoll (handoffp's
        last-P rule reads it)."""
        return t[self.L.lastpoll] != 0

    def findRunnable_drop(self, s: list[int], m: int, c: None) -> Action:
        label = super().findRunnable_drop(s, m, c)
        self._to_netpoll(s, m, was_spinning=False)
        return label

    def findRunnable_recheck_pidle(self, s: list[int], m: int, c: None) -> Action:
        label = super().findRunnable_recheck_pidle(s, m, c)
        self._to_netpoll(s, m, was_spinning=True)
        return label

    def _to_netpoll(self, s: list[int], m: int, was_spinning: bool) -> None:
        """findRunnable found nothing and holds no P: before stopm comes step
        r, the network poll. m.spin_arg keeps findRunnable's wasSpinning
        for it (it is free: no startm runs for this M meanwhile)."""
        L = self.L
        if s[L.pc[m]] == PC.STOPM:
            s[L.pc[m]] = PC.FR_NETPOLL
            s[L.spin_arg[m]] = 1 if was_spinning else 0

    @choices(PC.FR_NETPOLL)
    def netpoll_choices(self, t: bytes, m: int) -> list[bool]:
        """Whether this M blocks in netpoll: only if nobody does already."""
        return [False, True] if t[self.L.lastpoll] != 0 else [False]

    @step(PC.FR_NETPOLL)
    def findRunnable_netpoll(self, s: list[int], m: int, poll: bool) -> Action:
        """findRunnable step r: `if netpollinited() && (netpollAnyWaiters()
        || pollUntil != 0) && sched.lastpoll.Swap(0) != 0`, block in
        netpoll(delay) until a timer is due or I/O is ready; else stopm.
        Whether a timer or a network waiter exists is not in the trace, so
        both are allowed while lastpoll != 0; the Swap makes this M the only
        poller, and until it returns handoffp's last-P rule idles the P
        instead of starting an M for it."""
        L = self.L
        if poll:
            s[L.lastpoll] = 0
            s[L.pc[m]] = PC.NETPOLL
            return Action("findRunnable.netpoll", m=m).flag("block")
        s[L.spin_arg[m]] = 0
        return Action("findRunnable.netpoll", "no").chain(self.stopm(s, m, None))

    @step(PC.NETPOLL)
    def netpoll_returns(self, s: list[int], m: int, c: None) -> Action:
        """netpoll(delay) returns (a timer is due, netpollBreak, I/O with
        nothing the trace shows readied): sched.lastpoll = now; lock;
        pidleget(); unlock. Without a P: injectglist of nothing; stopm.
        With one, acquirep is the next step (NETPOLL_ACQUIRE): findRunnable
        takes the P up after unlock, and other Ms may drop Ps and take them
        in between, so the P the trace sees it take up need not be the one
        on top of the idle list by then."""
        L = self.L
        s[L.lastpoll] = 1
        p = self.pidleget(s)
        if p == NONE:
            s[L.spin_arg[m]] = 0
            return Action("netpoll.return", m=m).flag("no idle P").chain(self.stopm(s, m, None))
        s[L.pp[m]] = p
        s[L.pc[m]] = PC.NETPOLL_ACQUIRE
        return Action("netpoll.pidleget", m=m, p=p)

    @step(PC.NETPOLL_ACQUIRE)
    def netpoll_acquirep(self, s: list[int], m: int, c: None) -> Action:
        """findRunnable back from netpoll with the P pidleget gave it:
        acquirep(pp); if wasSpinning, becomeSpinning; goto top."""
        L = self.L
        p = s[L.pp[m]]
        s[L.pp[m]] = NONE
        was_spinning = s[L.spin_arg[m]]
        s[L.spin_arg[m]] = 0
        self.acquirep(s, m, p)
        if was_spinning:
            self.becomeSpinning(s, m)
        s[L.pc[m]] = PC.SCHEDULE
        return Action("netpoll.acquirep", m=m, p=p, spinning=was_spinning)

    def netpoll_injectglist(self, s: list[int], m: int, w: int) -> Action:
        """The M blocked in netpoll (findRunnable step r) returns with w ready
        (sched.lastpoll = now) and finds no idle P: injectglist(&list) — w
        on the global queue, startIdle (pidlegetSpinning; startm for each
        idle P) — then stopm."""
        L = self.L
        s[L.lastpoll] = 1
        s[L.spin_arg[m]] = 0
        s[L.g_status[w]] = G_RUNNABLE
        self.globrunqput(s, w)
        p = self.pidlegetSpinning(s)
        if p == NONE:
            s[L.pc[m]] = PC.STOPM
            return Action("netpoll.injectglist", m=m, g=w).flag("no idle P")
        s[L.pp[m]] = p
        self.call(s, m, PC.STARTM, PC.STOPM)
        return Action("netpoll.injectglist", m=m, g=w).arg("startm p", p)

    # ---- sysmon, with time left out ------------------------------------------

    @choices(PC.SYSMON)
    def sysmon_choices(self, t: bytes, a: int) -> list[tuple[str, int]]:  # type: ignore[override]  # the open world's choices
        """Retake any P in a system call (the trace's ProcSteal); ask a G to
        yield only when the observation is its preemption; injectglist a
        waiting G when the observation is that wakeup. (It starts no M for
        overdue timers: older sysmons did, "if next < now ... startm(nil,
        false)"; Go 1.26 and 1.27, whose traces conform reads, do not.)"""
        L, exp = self.L, self.expect
        out: list[tuple[str, int]] = [("retake", p) for p in range(L.nP) if self.in_syscall(t, p)]
        g = exp.preempt
        if g != NONE and not t[L.g_preempt[g]]:
            for p in range(L.nP):
                if self.runs_user_code(t, p) and t[L.curg[t[L.p_m[p]]]] == g:
                    out.append(("preempt", p))
        if "inject" in exp.env:
            for w in self._waiting(t, exp.target):
                out.append(("inject", w))
        return out

    @step(PC.SYSMON)
    def sysmon(self, s: list[int], a: int, c: tuple[str, int]) -> Action:  # type: ignore[override]  # the open world's choices
        kind, x = c
        if kind == "retake":
            return self.retake_handoff(s, a, x)
        if kind == "preempt":
            self.preemptone(s, x)
            g = s[self.L.curg[s[self.L.p_m[x]]]]
            return Action("sysmon.retake", p=x, preempt=Refs.each("G", [g]))
        return self.sysmon_injectglist(s, a, x)

    def sysmon_injectglist(self, s: list[int], a: int, w: int) -> Action:
        """injectglist from an M without a P (sysmon's netpoll or scavenger
        wakeup): casgstatus(_Gwaiting, _Grunnable); lock; globrunqputbatch;
        startIdle: pidlegetSpinning and startm(pp, false, lockheld=true)."""
        L = self.L
        s[L.g_status[w]] = G_RUNNABLE
        self.globrunqput(s, w)
        p = self.pidlegetSpinning(s)
        label = Action("injectglist", "sysmon", g=w)
        if p == NONE:
            return label.flag("no idle P")
        s[L.pp[a]] = p
        s[L.spin_arg[a]] = 0
        self.call(s, a, PC.STARTM, PC.SYSMON)
        return label.arg("startm p", p)

    # ---- a state from what a trace shows at its start ---------------------------

    def state_of(self, snap: Snapshot) -> bytes:
        """The state a trace's first statuses describe. Runnable goroutines
        are in the limbo; Ms not named are parked; idle Ps are on the idle
        list; no M spins (nmspinning = 0: the tracer's stop-the-world
        stopped every spinning M, gcstopm).

        startTheWorldWithSema, which ends that stop-the-world, calls wakep()
        after the trace's end of the stop-the-world range ("Wakeup an
        additional proc in case we have excessive runnable goroutines in
        local queues or in the global queue"): the M that started the trace
        (snap.wakep) begins in it, and goes back to its goroutine after."""
        L = self.L
        s = L.blank()
        for g, (m, p) in snap.running.items():
            s[L.g_status[g]] = G_RUNNING
            s[L.curg[m]] = g
            self.acquirep(s, m, p)
            s[L.pc[m]] = PC.RUN
        for g, (m, p) in snap.syscall.items():
            s[L.g_status[g]] = G_SYSCALL
            s[L.curg[m]] = g
            if p != NONE:
                self.acquirep(s, m, p)
            s[L.oldp[m]] = p
            s[L.pc[m]] = PC.IN_SYSCALL
        for m, p in snap.looking.items():
            self.acquirep(s, m, p)
            s[L.pc[m]] = PC.SCHEDULE
        for g in snap.runnable:
            s[L.g_status[g]] = G_RUNNABLE
        for g in snap.waiting:
            s[L.g_status[g]] = G_WAITING
        for p in snap.idle_ps:
            self.pidleput(s, p)
        busy = set(snap.looking) | {m for m, _ in snap.running.values()}
        busy |= {m for m, _ in snap.syscall.values()}
        for m in range(L.nM):
            if m not in busy:
                s[L.pc[m]] = PC.PARKED
                q_push(s, L.midle, L.nM, m)
        s[L.pc[L.SYSMON]] = PC.SYSMON
        s[L.lastpoll] = 1
        if snap.wakep != NONE:
            self.call(s, snap.wakep, PC.WAKEP_CAS, PC.RUN)
        return self.freeze(s)

    def polling(self, t: bytes) -> bytes | None:
        """The same start with one of the Ms the trace has not named blocked
        in netpoll (lastpoll == 0) rather than parked: the trace does not
        say which; None if every M is named."""
        L = self.L
        s = self.thaw(t)
        m = q_pop_top(s, L.midle, L.nM)
        if m == NONE:
            return None
        s[L.pc[m]] = PC.NETPOLL
        s[L.lastpoll] = 0
        return self.freeze(s)

    def initial_states(self, snap: Snapshot, most: int = 2) -> list[bytes]:  # type: ignore[override]
        """state_of, and the same with the goroutines runnable at the start
        placed in the queues they could be in: the global queue, or a busy
        P's ring or runnext, ahead of anything the trace adds (so that
        stealing takes as many as the runtime did, and the one it runs is
        the runtime's). With more than `most` such goroutines, only the
        limbo state (the placements would multiply)."""
        starts = [self.state_of(snap)]
        polling = self.polling(starts[0])
        if polling is not None:
            starts.append(polling)
        return [t for base in starts for t in self._placements(base, snap, most)]

    def _placements(self, base: bytes, snap: Snapshot, most: int) -> list[bytes]:
        gs = snap.runnable
        if not gs or len(gs) > most:
            return [base]
        L = self.L
        busy = sorted({p for _, p in snap.running.values()} | set(snap.looking.values()))
        targets = [("global", NONE)] + [(k, p) for p in busy for k in ("ring", "next")]
        out = {base: None}
        for order in permutations(gs):
            for where in product(targets, repeat=len(gs)):
                nexts = [p for k, p in where if k == "next"]
                if len(nexts) != len(set(nexts)):
                    continue
                s = self.thaw(base)
                for g, (kind, p) in zip(order, where, strict=True):
                    if kind == "global":
                        self.globrunqput(s, g)
                    elif kind == "ring":
                        self.ring_put(s, p, g)
                    else:
                        s[L.runnext[p]] = g
                out[self.freeze(s)] = None
        return list(out)

    # ---- what the trace cannot tell ---------------------------------------------

    # ---- visits that find nothing ----------------------------------------------
    #
    # stealWork and checkRunqsNoP visit the Ps one atomic read at a time, and
    # most visits find nothing. Each such visit changes nothing but the M's
    # record of the Ps it has visited, yet as steps of their own, the
    # positions of several looking Ms multiply the states between two
    # events. The open world does not take them as steps: after every step
    # (normalize) a looking M's record holds the Ps that had nothing to give
    # it at some moment since its pass (or walk) began, as if it had visited
    # them then, and its steps are the visits that find something and the
    # end of the pass. This explains the same executions:
    #
    # - stealWork visits the other Ps in any order (stealOrder). A pass that
    #   ends at time T, each visit finding nothing, is a choice of one
    #   moment in [start, T] for each P at which it had nothing: exactly
    #   what the record says, and the moments in time order are the visits.
    #   A steal from P v at time t needs only v not visited yet in this
    #   pass; the record never forbids it (a P seen empty may be visited
    #   later instead), and the steal ends the pass anyway.
    #   A visit that reads a runnext (the last pass) is not one that finds
    #   nothing: it is the visit, at that moment. If its CAS fails and it
    #   finds nothing after all, that P is done for the pass: m.spin_arg
    #   (unused while an M steals) holds those Ps, which it may not steal
    #   from again in this pass.
    # - checkRunqsNoP walks allp in order, so the record is a prefix: the
    #   longest one whose Ps were empty at increasing moments, grown
    #   greedily (the earliest moments leave the most room). Work found at
    #   P j needs P 0..j-1 empty at increasing moments before: j at most the
    #   prefix's length.

    passive_visits = True  # False: a step per visit, as the closed world (tests compare them)

    def _nothing_to_steal(self, t: bytes | list[int], v: int, runnext_too: bool) -> bool:
        L = self.L
        if self.p_is_idle(t, v):  # stealWork skips idle Ps (idlepMask)
            return True
        return t[L.runq[v]] == NONE and (not runnext_too or t[L.runnext[v]] == NONE)

    def _frozen(self, s: list[int]) -> bytes:
        self.normalize(s)
        return self.freeze(s)

    def normalize(self, s: list[int]) -> None:
        """Record, for every looking M, the Ps with nothing for it now."""
        if not self.passive_visits:
            return
        L = self.L
        for m in range(L.nM):
            pc = s[L.pc[m]]
            if pc == PC.FR_STEAL:
                p = s[L.m_p[m]]
                last = s[L.steal_pass[m]] == self.cfg.steal_tries - 1
                mask = s[L.mask[m]]
                for v in range(L.nP):
                    if v != p and not mask & (1 << v) and self._nothing_to_steal(s, v, last):
                        mask |= 1 << v
                s[L.mask[m]] = mask
            elif pc == PC.FR_RECHECK_RUNQS:
                mask = s[L.mask[m]]
                for v in range(L.nP):
                    if mask & (1 << v):
                        continue
                    if self.p_is_idle(s, v) or self.runqempty(s, v):
                        mask |= 1 << v
                    else:
                        break
                s[L.mask[m]] = mask

    @choices(PC.FR_STEAL)
    def steal_choices(self, t: bytes, m: int) -> list[int]:
        """With passive visits: the Ps with something to steal now (a ring,
        or on the last pass a runnext), and NONE, the end of the pass, once
        every other P is recorded."""
        if not self.passive_visits:
            return super().steal_choices(t, m)
        L = self.L
        p = t[L.m_p[m]]
        last = t[L.steal_pass[m]] == self.cfg.steal_tries - 1
        done = t[L.spin_arg[m]] | (1 << p)
        out = [
            v for v in range(L.nP) if not done & (1 << v) and not self._nothing_to_steal(t, v, last)
        ]
        if t[L.mask[m]] | (1 << p) == (1 << L.nP) - 1:
            out.append(NONE)
        return out

    @step(PC.FR_STEAL)
    def findRunnable_steal(self, s: list[int], m: int, victim: int) -> Action:
        if victim != NONE:
            return super().findRunnable_steal(s, m, victim)
        L = self.L
        p = s[L.m_p[m]]
        done = s[L.steal_pass[m]]
        s[L.mask[m]] = 0
        s[L.spin_arg[m]] = 0
        s[L.steal_pass[m]] += 1
        if s[L.steal_pass[m]] == self.cfg.steal_tries:
            s[L.steal_pass[m]] = 0
            s[L.pc[m]] = PC.FR_DROP
        return Action("stealWork", m=m, p=p).arg("pass", done).flag("nothing")

    def steal_none(
        self, s: list[int], m: int, p: int, victim: int, last: bool, step: str = ""
    ) -> Action:
        """With passive visits, a victim that had nothing (a runqgrab whose
        runnext CAS failed and found nothing left) is recorded, and the pass
        ends by its own step (NONE), as every other."""
        if not self.passive_visits:
            return super().steal_none(s, m, p, victim, last, step)
        s[self.L.mask[m]] |= 1 << victim
        s[self.L.spin_arg[m]] |= 1 << victim
        name = f"stealWork.{step}" if step else "stealWork"
        return Action(name, m=m, p=p, victim=victim).arg("pass", int(last)).flag("none")

    @choices(PC.FR_RECHECK_RUNQS)
    def recheck_choices(self, t: bytes, m: int) -> list[int]:
        """checkRunqsNoP walks allp in order. The search keeps the Ps a trace
        names in the order of their ids (checker/golang/canon.py canon_p), those
        it has not named after them (idle since the trace began: nothing to
        find there), so allp's order is the model's. With passive visits:
        a P with work among the first k+1, k the recorded prefix, or NONE
        (nothing anywhere: stopm) once every P is recorded. (The closed world
        lets the walk take any order, which keeps its Ps interchangeable for
        symmetry reduction.)"""
        L = self.L
        mask = t[L.mask[m]]
        if not self.passive_visits:
            for p in range(L.nP):
                if not mask & (1 << p):
                    return [p]
            return []
        out = []
        for v in range(L.nP):
            if not self.p_is_idle(t, v) and not self.runqempty(t, v):
                out.append(v)
            if not mask & (1 << v):
                break
        if mask == (1 << L.nP) - 1:
            out.append(NONE)
        return out

    @step(PC.FR_RECHECK_RUNQS)
    def findRunnable_recheck_runqs(self, s: list[int], m: int, p: int) -> Action:
        L = self.L
        if p == NONE:  # every P recorded empty: checkRunqsNoP returns nil
            s[L.mask[m]] = 0
            s[L.pc[m]] = PC.STOPM
            label = Action("checkRunqsNoP", m=m).flag("nothing")
        else:
            label = super().findRunnable_recheck_runqs(s, m, p)
        self._to_netpoll(s, m, was_spinning=True)
        return label

    @choices(PC.SCHEDULE)
    def schedule_choices(self, t: bytes, m: int) -> list[bool]:
        """schedtick is not observable: any round may be the one where
        `schedtick % 61 == 0` takes a G from the global queue first. (A
        locked M does not look: it waits for its G, stoplockedm.)"""
        L = self.L
        return [True, False] if t[L.grunq] != NONE and t[L.lockedg[m]] == NONE else [False]

    @step(PC.SCHEDULE)
    def schedule(self, s: list[int], m: int, fairness: bool) -> Action:  # type: ignore[override]  # the open world's choices
        """schedule() -> findRunnable(): the global-queue check, when this
        round is the 61st (the model lets it be any), else the local queue."""
        L = self.L
        if s[L.lockedg[m]] != NONE:
            return self.stoplockedm(s, m)
        p = s[L.m_p[m]]
        if fairness:
            g = self.globrunqget(s)
            self.to_execute(s, m, g, False)
            return Action("findRunnable.globrunqget", m=m, p=p, g=g)
        return self.findRunnable_runqget(s, m, None)

    def schedtick_advance(self, s: list[int], p: int) -> None:
        """schedtick is not tracked (see schedule_choices)."""


def open_model(
    profile: str, cores: int, ms: int, gs: int, model_class: type[OpenWorld] | None = None
) -> OpenWorld:
    """An open-world model of the profile's scheduler with `cores` Ps, `ms`
    Ms and `gs` goroutine slots (`model_class`: a variant of OpenWorld)."""
    from model.factory import build_model

    cfg = Config(cores=cores, max_ms=ms, profile=profile, workload="open")
    klass = model_class or OpenWorld
    model = build_model(cfg, model_class=klass, workload=open_workload(gs), symmetry=False)
    assert isinstance(model, OpenWorld)  # klass, or a class with klass before the profile's
    return model
