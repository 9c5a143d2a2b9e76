"""schedule() and findRunnable() (proc.go, Go 1.25), with stealWork,
checkRunqsNoP, stopm, execute and the locked-thread hand-overs.

findRunnable is one loop, as in Go (`top:`); each runtime-atomic action
in it begins at a schedule point (runtime/control.py). The sources
the closed world does not have (GC workers, timers, netpoll) are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model.state import G_RUNNABLE, G_RUNNING
from runtime.objects import M, P
from runtime.queues import Runqs


def unvisited(n: int, seen: int) -> Callable[[], list[int]]:
    """The Ps 0..n-1 not in the bit set `seen`: a pass's options, listed when asked."""
    return lambda: [p for p in range(n) if not seen & (1 << p)]


Found = tuple[int, bool]  # findRunnable's (gp, inheritTime)


def traced(fn: Callable) -> Callable:
    """A runtime procedure on the M's traceback while it runs (mp.stack):
    where the M returns to is read from it (the projection's `ret`)."""
    name = fn.__name__

    def wrapper(self: Any, mp: M, *args: Any) -> Any:
        mp.stack.append(name)
        try:
            return fn(self, mp, *args)
        finally:
            mp.stack.pop()

    wrapper.__name__ = name
    wrapper.__doc__ = fn.__doc__
    return wrapper


class Proc(Runqs):
    # Provided by the Runtime (runtime/scheduler.py) and its other parts.
    def point(self, mp: M, where: str, **frame: Any) -> Any:
        raise NotImplementedError

    def choose(self, mp: M, where: str, options: Callable[[], list], **frame: Any) -> Any:
        raise NotImplementedError

    def notesleep(self, mp: M, where: str, **frame: Any) -> None:
        raise NotImplementedError

    def wakep(self, mp: M) -> None:
        raise NotImplementedError

    def handoffp(self, mp: M, pp: P) -> None:
        raise NotImplementedError

    def casgstatus(self, g: int, old: int, new: int) -> None:
        raise NotImplementedError

    def gogo(self, mp: M) -> tuple:
        raise NotImplementedError

    # ---- schedule -------------------------------------------------------------------

    def schedule(self, mp: M, nxt: tuple = ("top",)) -> None:
        """schedule(): find a G and run it, forever. What the G does when it
        gives up the M says where this M goes on: the top of schedule, the
        execute of a G it holds (exitsyscall0 found a P), stopm, stoplockedm."""
        while True:
            if nxt[0] == "top":
                found = self.findRunnable(mp)
                nxt = ("stoplockedm",) if found is None else self.schedule_found(mp, *found, True)
            elif nxt[0] == "execute":
                nxt = self.schedule_found(mp, nxt[1], False, True)
            elif nxt[0] == "stopm":
                self.stopm(mp)
                nxt = ("top",)
            else:
                # `if mp.lockedg != 0 { stoplockedm(); execute(mp.lockedg, false) }`
                assert nxt[0] == "stoplockedm"
                self.stoplockedm(mp)
                assert mp.lockedg is not None
                nxt = self.schedule_found(mp, mp.lockedg, False, False)

    def schedule_found(self, mp: M, gp: int, inherit: bool, resetspin: bool) -> tuple:
        """schedule() after findRunnable: a spinning M stops spinning (and
        wakes another, resetspinning); then execute(gp, inheritTime)."""
        if resetspin:
            self.point(mp, "schedule: resetspinning", gp=gp, inherit=inherit)
            if mp.spinning:
                mp.held = {"gp": gp, "inherit": inherit}
                self.resetspinning(mp)
                mp.held = {}
                self.point(mp, "execute", gp=gp, inherit=inherit)
        else:
            self.point(mp, "execute", gp=gp, inherit=inherit)
        return self.execute(mp, gp, inherit)

    @traced
    def resetspinning(self, mp: M) -> None:
        """resetspinning(): m.spinning = false; nmspinning.Add(-1); wakep().
        The last spinning M to find work must start another: submitters did
        not wake anyone while it was spinning."""
        mp.spinning = False
        self.nmspinning_dec()
        self.wakep(mp)

    def execute(self, mp: M, g: int, inherit: bool) -> tuple:
        """execute(gp, inheritTime): m.curg = gp; casgstatus(_Grunnable,
        _Grunning); gp.preempt = false; pp.schedtick++ unless the G inherits
        the time slice. A G locked to another M is handed to it instead
        (startlockedm)."""
        gp = self.allg[g]
        owner = self.lockedm(g)
        if owner is not None and owner != mp.id:
            self.startlockedm(mp, g)
            return ("stopm",)
        self.casgstatus(g, G_RUNNABLE, G_RUNNING)
        mp.curg = g
        gp.preempt = False
        if not inherit:
            assert mp.p is not None
            self.allp[mp.p].schedtick += 1
        return self.gogo(mp)

    # ---- findRunnable -------------------------------------------------------------------

    def findRunnable(self, mp: M) -> Found | None:
        """findRunnable(): the local run queue, the global one, stealing; then
        drop the P and park, re-checking everything on the way (the
        spinning -> non-spinning transition). Returns with a G to run, or
        None at once when the M is locked to a G (schedule() then waits for
        that G: the top of schedule and of findRunnable are one step)."""
        while True:  # top:
            self.point(mp, "schedule")
            if mp.lockedg is not None:
                return None
            found = self.findRunnable_local(mp)
            if found is None and not mp.spinning:
                self.point(mp, "findRunnable: spin limit")
                if self.spinning_wanted():
                    self.point(mp, "findRunnable: becomeSpinning")
                    self.becomeSpinning(mp)
            if found is None and mp.spinning and len(self.allp) > 1:
                found = self.stealWork(mp)
            if found is not None:
                return found
            found, again = self.give_up_p(mp)
            if found is not None:
                return found
            if not again:
                self.stopm(mp)

    def findRunnable_local(self, mp: M) -> Found | None:
        """The places a G comes from without stealing: once every 61
        schedticks the global queue first (so that two G's readying each
        other cannot starve it), the local queue, the global queue."""
        assert mp.p is not None
        pp = self.allp[mp.p]
        if self.globrunq_turn(pp):
            with self.sched.lock:
                g = self.globrunqget()
            if g is not None:
                return g, False
            self.point(mp, "findRunnable: runqget")
        g, inherit = self.runqget(pp)
        if g is not None:
            return g, inherit
        self.point(mp, "findRunnable: globrunqget")
        with self.sched.lock:
            gs = self.globrunqgetbatch(pp.runq.size // 2)
        if gs:
            return self.found(mp, pp, gs)
        return None

    def globrunq_turn(self, pp: P) -> bool:
        """`pp.schedtick%61 == 0`: the global queue's turn before the local
        one ("otherwise two goroutines can completely occupy the local
        runqueue by constantly respawning each other")."""
        return pp.schedtick % self.cfg.period == 0

    def spinning_wanted(self) -> bool:
        """`2*sched.nmspinning.Load() < gomaxprocs-sched.npidle.Load()`: limit
        the spinning Ms to half the busy Ps, so that with little parallelism
        idle threads do not burn CPUs stealing."""
        return 2 * self.sched.nmspinning.load() < len(self.allp) - self.npidle()

    def found(self, mp: M, pp: P, gs: list[int]) -> Found:
        """The first G to run; the others published on the own ring
        (runqputbatch, after sched.lock is dropped, as Go 1.25 does)."""
        gp, batch = gs[0], gs[1:]
        if batch:
            self.point(mp, "runqputbatch", gp=gp, batch=batch)
            self.runqputbatch(pp, batch)
        return gp, False

    def stealWork(self, mp: M) -> Found | None:
        """stealWork: stealTries passes over the other Ps in a random order
        (stealOrder): the controller picks each next victim among those
        not yet visited. Idle Ps are skipped; from the others runqsteal
        takes half the ring, and on the last pass the runnext."""
        assert mp.p is not None
        pp = self.allp[mp.p]
        for i in range(self.cfg.steal_tries):
            last = i == self.cfg.steal_tries - 1
            mask = 0
            while mask | (1 << pp.id) != (1 << len(self.allp)) - 1:
                seen = mask | (1 << pp.id)
                victim = self.choose(
                    mp,
                    "stealWork",
                    unvisited(len(self.allp), seen),
                    steal_pass=i,
                    mask=mask,
                )
                mask |= 1 << victim
                if self.idle(victim):
                    continue
                stolen = self.runqsteal(mp, pp, self.allp[victim], last, i, mask)
                if stolen:
                    return self.found(mp, pp, [stolen[-1], *stolen[:-1]])
        return None

    def runqsteal(self, mp: M, pp: P, p2: P, last: bool, i: int, mask: int) -> list[int]:
        """runqsteal -> runqgrab: half the victim's ring with one CAS; with the
        ring empty on the last pass, its runnext: read it, and if the victim
        is running, usleep(3) ("ensure that pp isn't about to run the g we
        are about to steal") before the CAS. Between the read and the CAS
        the victim's owner may run that G and ready it again (ABA): the CAS
        does not see it. A failed CAS starts runqgrab over on the victim."""
        stolen = self.runqgrab(p2)
        while not stolen and last:
            nxt = p2.runq.runnext.load()
            if nxt is None:
                break
            self.point(
                mp, "runqgrab: runnext", steal_victim=p2.id, steal_next=nxt,
                steal_pass=i, mask=mask,
            )  # fmt: skip
            if p2.runq.runnext.cas(nxt, None):
                return [nxt]
            stolen = self.runqgrab(p2)
        return stolen

    # ---- dropping the P ---------------------------------------------------------------

    def give_up_p(self, mp: M) -> tuple[Found | None, bool]:
        """Nothing found: lock(&sched.lock), and before the P is dropped the
        global queue is looked at again under the lock (a globrunqput holds
        it, so none is missed), and a non-spinning M that sees needspinning
        keeps its P and spins instead: a spinning M found work but no idle
        P for it (golang/go#45867). Otherwise releasep; pidleput.

        Then the spinning -> non-spinning transition: decrement nmspinning
        first, re-check every queue after ("delicate dance"). A submitter
        does the opposite (publish, then wakep reads nmspinning): either it
        sees the decrement and wakes an M, or the re-check sees its work.
        Returns (a G found, start over at top)."""
        self.point(mp, "findRunnable: releasep")
        assert mp.p is not None
        pp = self.allp[mp.p]
        with self.sched.lock:
            gs = self.globrunqgetbatch(pp.runq.size // 2)
            if not gs:
                if not mp.spinning and self.sched.needspinning.load() == 1:
                    self.becomeSpinning(mp)
                    return None, True
                self.releasep(mp)
                self.pidleput(pp)
        if gs:
            return self.found(mp, pp, gs), False
        if not mp.spinning:
            return None, False
        return self.spinning_down(mp, pp.runq.size)

    def spinning_down(self, mp: M, ring: int) -> tuple[Found | None, bool]:
        """m.spinning = false; nmspinning.Add(-1); then the re-checks."""
        self.point(mp, "findRunnable: spinning down")
        mp.spinning = False
        self.nmspinning_dec()
        return self.recheck(mp, ring)

    def recheck(self, mp: M, ring: int) -> tuple[Found | None, bool]:
        """The re-checks after the decrement: the global queue under
        sched.lock, then every P's run queue (checkRunqsNoP). Work and an
        idle P for it: take the P and spin again."""
        self.point(mp, "findRunnable: recheck global")
        gs: list[int] = []
        with self.sched.lock:
            pp = self.pidlegetSpinning() if self.sched.runq else None
            if pp is not None:
                gs = self.globrunqgetbatch(ring // 2)
        if pp is None:
            pp = self.checkRunqsNoP(mp)
            if pp is None:
                return None, False
        if gs:
            self.point(mp, "findRunnable: acquirep", pp=pp.id, gp=gs[0], batch=gs[1:])
            self.runqputbatch(pp, gs[1:])
        else:
            self.point(mp, "findRunnable: acquirep", pp=pp.id)
        self.acquirep(mp, pp)
        self.becomeSpinning(mp)
        if gs:
            return (gs[0], False), False
        return None, True

    def checkRunqsNoP(self, mp: M) -> P | None:
        """checkRunqsNoP: every P, `!idlepMask.read(id) && !runqempty(p2)`
        (allp in order; the controller may take them in any); work found:
        lock; pidlegetSpinning(); unlock. No idle P: needspinning is now 1,
        so an M about to drop its P keeps it and spins instead."""
        n = len(self.allp)
        mask = 0
        while mask != (1 << n) - 1:
            seen = mask
            p = self.choose(
                mp,
                "checkRunqsNoP",
                unvisited(n, seen),
                mask=mask,
            )
            if not self.idle(p) and not self.runqempty(self.allp[p]):
                self.point(mp, "checkRunqsNoP: pidlegetSpinning")
                with self.sched.lock:
                    return self.pidlegetSpinning()
            mask |= 1 << p
        return None

    def stopm(self, mp: M) -> None:
        """stopm: lock; mput(mp); unlock; mPark() until startm hands this M
        a P in m.nextp (and maybe m.spinning); then acquirep(nextp)."""
        self.point(mp, "stopm")
        with self.sched.lock:
            self.mput(mp)
        self.notesleep(mp, "mPark")
        self.point(mp, "mstart")
        assert mp.nextp is not None
        self.acquirep(mp, self.allp[mp.nextp])
        mp.nextp = None

    # ---- locked threads (LockOSThread) ----------------------------------------------------

    @traced
    def stoplockedm(self, mp: M) -> None:
        """stoplockedm: an M locked to a G runs nothing else. It hands its P
        off (handoffp(releasep())), incidlelocked(1), and sleeps until an M
        that finds the G runnable hands it the G and a P (startlockedm)."""
        if mp.p is not None:
            self.handoffp(mp, self.releasep(mp))
        self.incidlelocked(1)
        self.notesleep(mp, "stoplockedm")
        self.point(mp, "stoplockedm: acquirep")
        assert mp.nextp is not None
        self.acquirep(mp, self.allp[mp.nextp])
        mp.nextp = None

    def lockedm(self, g: int) -> int | None:
        """gp.lockedm: the M the G is locked to."""
        return self.allg[g].lockedm

    def startlockedm(self, mp: M, g: int) -> None:
        """startlockedm(gp): incidlelocked(-1); pp = releasep(); the locked M's
        nextp = pp; notewakeup(&lockedm.park). Until the wakeup the P and the
        sleeping M are this M's alone; it then stops (stopm)."""
        owner = self.allg[g].lockedm
        assert owner is not None
        self.incidlelocked(-1)
        pp = self.releasep(mp)
        self.allm[owner].nextp = pp.id
        self.notewakeup(self.allm[owner])

    def notewakeup(self, mp: M) -> None:
        raise NotImplementedError
