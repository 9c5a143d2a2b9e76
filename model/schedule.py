"""schedule() and findRunnable(): how an M with a P finds the next G, and how
it gives up its P and parks when there is none.

One step per runtime-atomic action, in findRunnable's order (proc.go, Go
1.25): the schedtick%61 global check, the local run queue, the global run
queue, stealing, dropping the P under sched.lock, the spinning ->
non-spinning transition and its re-checks, stopm. The sources findRunnable
also looks at that the model does not have (GC workers, trace reader,
timers, netpoll, finalizers) are left out; docs/model.md says why.
"""

from __future__ import annotations

from model.action import Action
from model.machine import choices, foldable, step
from model.pcs import PC
from model.queues import Queues
from model.state import G_RUNNABLE, G_RUNNING, NONE


class Schedule(Queues):
    # ---- findRunnable: the places a G can come from -----------------------

    @step(PC.SCHEDULE)
    def schedule(self, s: list[int], m: int, c: None) -> Action:
        """schedule() -> findRunnable(), first source: once every `period`
        schedticks, take one G from the global queue before the local one
        (`pp.schedtick%61 == 0 && !sched.runq.empty()`: lock; globrunqget();
        unlock), so that two G's that keep readying each other on one P
        cannot starve the global queue."""
        L = self.L
        if s[L.lockedg[m]] != NONE:
            return self.stoplockedm(s, m)
        p = s[L.m_p[m]]
        if s[L.schedtick[p]] % self.cfg.period == 0:
            g = self.globrunqget(s)
            if g != NONE:
                self.to_execute(s, m, g, False)
                return Action("findRunnable.globrunqget", m=m, p=p, g=g)
            s[L.pc[m]] = PC.FR_RUNQGET
            return Action("findRunnable.schedtick-check", m=m, p=p).flag("empty")
        return self.findRunnable_runqget(s, m, None)

    @step(PC.FR_RUNQGET)
    def findRunnable_runqget(self, s: list[int], m: int, c: None) -> Action:
        """findRunnable: `runqget(pp)` — runnext first (the G inherits the
        time slice), then the ring's head."""
        L = self.L
        p = s[L.m_p[m]]
        g, inherit = self.runqget(s, p)
        if g != NONE:
            self.to_execute(s, m, g, inherit)
            where = "runnext" if inherit else "ring"
            return Action("findRunnable.runqget", m=m, p=p, g=g).arg("from", where)
        s[L.pc[m]] = PC.FR_GLOBRUNQ
        return Action("findRunnable.runqget", m=m, p=p).flag("empty")

    @step(PC.FR_GLOBRUNQ)
    def findRunnable_globrunq(self, s: list[int], m: int, c: None) -> Action:
        """findRunnable: the global queue, in a batch — lock;
        globrunqgetbatch(len(runq)/2); unlock; the extras go to the own ring
        (runqputbatch, the next step: Go 1.25 does it after unlocking)."""
        L = self.L
        p = s[L.m_p[m]]
        gs = self.globrunqgetbatch(s, L.C // 2)
        if gs:
            self.set_batch(s, m, gs[1:])
            self.to_execute(s, m, gs[0], False)
            return Action("findRunnable.globrunqgetbatch", m=m, p=p, gs=tuple(gs))
        if s[L.spinning[m]]:
            s[L.pc[m]] = self.steal_start()
        else:
            s[L.pc[m]] = PC.FR_STEAL_CHECK
        return Action("findRunnable.globrunq", m=m, p=p).flag("empty")

    @step(PC.FR_STEAL_CHECK)
    def findRunnable_steal_check(self, s: list[int], m: int, c: None) -> Action:
        """findRunnable: a non-spinning M steals only while
        `2*nmspinning < gomaxprocs - npidle` (at most half the busy Ps spin),
        otherwise it goes straight to dropping its P."""
        L = self.L
        busy = L.nP - self.npidle(s)
        if 2 * s[L.nmspinning] < busy:
            s[L.pc[m]] = PC.FR_BECOME_SPINNING
            return Action("findRunnable.spin-limit", m=m).flag("steal")
        s[L.pc[m]] = PC.FR_DROP
        return Action("findRunnable.spin-limit", m=m).flag("skip")

    @step(PC.FR_BECOME_SPINNING)
    def findRunnable_become_spinning(self, s: list[int], m: int, c: None) -> Action:
        """mp.becomeSpinning(): m.spinning = true; nmspinning.Add(1);
        needspinning.Store(0). (Two atomics, one step: the store only clears a
        request that this M, now counted as spinning, will answer.)"""
        self.becomeSpinning(s, m)
        s[self.L.pc[m]] = self.steal_start()
        return Action("findRunnable.becomeSpinning", m=m)

    def steal_start(self) -> PC:
        """Where a spinning M goes after the global queue: stealWork, unless
        there is no other P to steal from."""
        return PC.FR_STEAL if self.L.nP > 1 else PC.FR_DROP

    @choices(PC.FR_STEAL)
    def steal_choices(self, t: bytes, m: int) -> list[int]:
        """stealWork visits every other P once per pass in a random order
        (stealOrder); the model lets the next victim be any P not yet visited
        in this pass."""
        L = self.L
        p = t[L.m_p[m]]
        mask = t[L.mask[m]] | (1 << p)
        return [v for v in range(L.nP) if not mask & (1 << v)]

    @step(PC.FR_STEAL)
    def findRunnable_steal(self, s: list[int], m: int, victim: int) -> Action:
        """stealWork: one victim. Idle Ps (idlepMask) are skipped; otherwise
        runqsteal(pp, p2, stealRunNextG = last pass) -> runqgrab: half of the
        victim's ring with one CAS on its runqhead. The last G stolen is
        run, the others are published on the own ring.

        With the ring empty on the last pass, runqgrab reads the victim's
        runnext (`next := pp.runnext`), then, if the victim is running,
        sleeps (`usleep(3)`: "ensure that pp isn't about to run the g we are
        about to steal"), then CASes runnext. This step is the read; the
        CAS is the next step (FR_STEAL_RUNNEXT). Between them the victim's
        owner may run the G, ready it again, fill its ring: the race the
        sleep invites, and one the CAS does not see if runnext holds the
        same G again (ABA)."""
        L = self.L
        p = s[L.m_p[m]]
        last = s[L.steal_pass[m]] == self.cfg.steal_tries - 1
        s[L.mask[m]] |= 1 << victim
        if self.p_is_idle(s, victim):
            return self.steal_none(s, m, p, victim, last)
        stolen = self.runqgrab(s, victim)
        if stolen:
            return self.steal_got(s, m, p, victim, stolen)
        nxt = s[L.runnext[victim]]
        if last and nxt != NONE:
            s[L.steal_victim[m]] = victim
            s[L.steal_next[m]] = nxt
            s[L.pc[m]] = PC.FR_STEAL_RUNNEXT
            return Action("stealWork.runnext-read", m=m, p=p, victim=victim, g=nxt)
        return self.steal_none(s, m, p, victim, last)

    @step(PC.FR_STEAL_RUNNEXT)
    def findRunnable_steal_runnext(self, s: list[int], m: int, c: None) -> Action:
        """runqgrab after its usleep(3): `pp.runnext.cas(next, 0)`. It succeeds
        when runnext holds the G read before, though the owner may have run
        it and readied it again and its ring may hold G's now (runqgrab does
        not look at the ring again): the G is stolen and run. If it fails,
        runqgrab `continue`s on the same victim: half of its ring if it has
        some now, else its runnext read again, else nothing."""
        L = self.L
        p = s[L.m_p[m]]
        victim = s[L.steal_victim[m]]
        nxt = s[L.steal_next[m]]
        s[L.steal_victim[m]] = NONE
        s[L.steal_next[m]] = NONE
        if self.runnext_cas(s, victim, nxt):
            return self.steal_got(s, m, p, victim, [nxt], "runnext")
        stolen = self.runqgrab(s, victim)
        if stolen:
            return self.steal_got(s, m, p, victim, stolen, "runnext cas failed")
        again = s[L.runnext[victim]]
        if again != NONE:
            s[L.steal_victim[m]] = victim
            s[L.steal_next[m]] = again
            return (
                Action("stealWork.runnext-cas", m=m, p=p, victim=victim)
                .flag("failed")
                .arg("read g", again)
            )
        s[L.pc[m]] = PC.FR_STEAL
        return self.steal_none(s, m, p, victim, True, "runnext-cas")

    def steal_got(
        self, s: list[int], m: int, p: int, victim: int, stolen: list[int], how: str = ""
    ) -> Action:
        """runqsteal returns the last G grabbed to run; the others go to the
        own ring (published by the next step)."""
        L = self.L
        s[L.steal_pass[m]] = 0
        s[L.mask[m]] = 0
        self.set_batch(s, m, stolen[:-1])
        self.to_execute(s, m, stolen[-1], False)
        action = Action("stealWork", m=m, p=p, victim=victim, gs=tuple(stolen))
        return action.flag(how) if how else action

    def steal_none(
        self, s: list[int], m: int, p: int, victim: int, last: bool, step: str = ""
    ) -> Action:
        """Nothing from this victim: on to the next one; after the last P of
        the last pass, stealWork gives up and findRunnable drops its P."""
        L = self.L
        if s[L.mask[m]] | (1 << p) == (1 << L.nP) - 1:
            s[L.mask[m]] = 0
            s[L.steal_pass[m]] += 1
            if s[L.steal_pass[m]] == self.cfg.steal_tries:
                s[L.steal_pass[m]] = 0
                s[L.pc[m]] = PC.FR_DROP
        name = f"stealWork.{step}" if step else "stealWork"
        return Action(name, m=m, p=p, victim=victim).arg("pass", int(last)).flag("none")

    @step(PC.RUNQPUTBATCH)
    def runqputbatch_step(self, s: list[int], m: int, c: None) -> Action:
        """runqputbatch(pp, q) after globrunqgetbatch, or runqsteal's publish of
        runqtail: the extras become visible on the own ring, to this M and
        to thieves."""
        L = self.L
        p = s[L.m_p[m]]
        gs = self.take_batch(s, m)
        self.runqputbatch(s, p, gs)
        s[L.pc[m]] = PC.EXECUTE
        return Action("runqputbatch", m=m, p=p, gs=tuple(gs))

    # ---- dropping the P ---------------------------------------------------

    @step(PC.FR_DROP)
    def findRunnable_drop(self, s: list[int], m: int, c: None) -> Action:
        """findRunnable, `lock(&sched.lock)` before dropping the P:
        - the global queue is re-checked under the lock, so a globrunqput
          (which holds the lock) cannot be missed;
        - a non-spinning M that sees needspinning == 1 does not drop its P:
          a spinning M found work but no idle P for it (pidlegetSpinning),
          and this P is needed; it becomes spinning and starts over
          (the handshake that fixed golang/go#45867);
        - otherwise releasep(); pidleput(pp); unlock."""
        L = self.L
        p = s[L.m_p[m]]
        gs = self.globrunqgetbatch(s, L.C // 2)
        if gs:
            self.set_batch(s, m, gs[1:])
            self.to_execute(s, m, gs[0], False)
            return Action("findRunnable.drop.globrunqgetbatch", m=m, p=p, gs=tuple(gs))
        if not s[L.spinning[m]] and s[L.needspinning] == 1:
            self.becomeSpinning(s, m)
            s[L.pc[m]] = PC.SCHEDULE
            return Action("findRunnable.drop.needspinning", m=m, p=p)
        self.releasep(s, m)
        self.pidleput(s, p)
        s[L.pc[m]] = PC.FR_SPIN_DOWN if s[L.spinning[m]] else PC.STOPM
        return Action("findRunnable.releasep", m=m, p=p)

    @step(PC.FR_SPIN_DOWN)
    def findRunnable_spin_down(self, s: list[int], m: int, c: None) -> Action:
        """The spinning -> non-spinning transition, part 1: m.spinning =
        false; nmspinning.Add(-1).

        The order matters (proc.go, "delicate dance"): decrement first, then
        re-check every queue. A submitter does the opposite (enqueue, then
        look at nmspinning in wakep). Either the submitter sees the
        decrement and wakes an M, or this M's re-check sees the work."""
        L = self.L
        s[L.spinning[m]] = 0
        if not self.nmspinning_dec(s, m):
            return Action("findRunnable.spinning-down", m=m).throws()
        s[L.pc[m]] = PC.FR_RECHECK_GLOBAL
        return Action("findRunnable.spinning-down", m=m)

    @step(PC.FR_RECHECK_GLOBAL)
    def findRunnable_recheck_global(self, s: list[int], m: int, c: None) -> Action:
        """Re-check the global queue under sched.lock: if it has work, take an
        idle P with pidlegetSpinning and a batch for it."""
        L = self.L
        if not self.globrunq_empty(s):
            p = self.pidlegetSpinning(s)
            if p != NONE:
                gs = self.globrunqgetbatch(s, L.C // 2)
                s[L.pp[m]] = p
                s[L.gp[m]] = gs[0]
                self.set_batch(s, m, gs[1:])
                s[L.pc[m]] = PC.FR_RECHECK_ACQUIRE
                return Action("findRunnable.recheck.globrunq", m=m, p=p, gs=tuple(gs))
            s[L.pc[m]] = PC.FR_RECHECK_RUNQS
            return Action("findRunnable.recheck.globrunq", m=m).flag("no idle P")
        s[L.pc[m]] = PC.FR_RECHECK_RUNQS
        return Action("findRunnable.recheck.globrunq", m=m).flag("empty")

    @choices(PC.FR_RECHECK_RUNQS)
    def recheck_choices(self, t: bytes, m: int) -> list[int]:
        """checkRunqsNoP walks allp in order; the model lets it look at the
        Ps in any order (an over-approximation that keeps the Ps symmetric)."""
        L = self.L
        mask = t[L.mask[m]]
        return [p for p in range(L.nP) if not mask & (1 << p)]

    @step(PC.FR_RECHECK_RUNQS)
    def findRunnable_recheck_runqs(self, s: list[int], m: int, p: int) -> Action:
        """checkRunqsNoP: for one P, `!idlepMask.read(id) && !runqempty(p2)`.
        Work found: go and get an idle P for it (next step). All Ps empty:
        stopm."""
        L = self.L
        if not self.p_is_idle(s, p) and not self.runqempty(s, p):
            s[L.mask[m]] = 0
            s[L.pc[m]] = PC.FR_RECHECK_PIDLE
            return Action("checkRunqsNoP", m=m, p=p).flag("work")
        s[L.mask[m]] |= 1 << p
        if s[L.mask[m]] == (1 << L.nP) - 1:
            s[L.mask[m]] = 0
            s[L.pc[m]] = PC.STOPM
        return Action("checkRunqsNoP", m=m, p=p).flag("empty")

    @step(PC.FR_RECHECK_PIDLE)
    def findRunnable_recheck_pidle(self, s: list[int], m: int, c: None) -> Action:
        """checkRunqsNoP: lock; pidlegetSpinning(); unlock. No idle P: give up
        (needspinning is now 1, so an M about to drop its P keeps it and spins
        instead), stopm."""
        L = self.L
        p = self.pidlegetSpinning(s)
        if p == NONE:
            s[L.pc[m]] = PC.STOPM
            return Action("checkRunqsNoP.pidlegetSpinning", m=m).flag("none").flag("needspinning")
        s[L.pp[m]] = p
        s[L.pc[m]] = PC.FR_RECHECK_ACQUIRE
        return Action("checkRunqsNoP.pidlegetSpinning", m=m, p=p)

    @step(PC.FR_RECHECK_ACQUIRE)
    def findRunnable_recheck_acquire(self, s: list[int], m: int, c: None) -> Action:
        """After a re-check found work and an idle P: runqputbatch(pp, q) of
        any extras, acquirep(pp), mp.becomeSpinning(); then run the G taken
        from the global queue, or start findRunnable over."""
        L = self.L
        p = s[L.pp[m]]
        s[L.pp[m]] = NONE
        self.runqputbatch(s, p, self.take_batch(s, m))
        self.acquirep(s, m, p)
        self.becomeSpinning(s, m)
        if s[L.gp[m]] != NONE:
            s[L.inherit[m]] = 0
            s[L.pc[m]] = PC.EXECUTE
        else:
            s[L.pc[m]] = PC.SCHEDULE
        return Action("findRunnable.recheck.acquirep", m=m, p=p)

    @step(PC.STOPM)
    def stopm(self, s: list[int], m: int, c: None) -> Action:
        """stopm: lock; mput(m) (checkdead runs here); unlock; mPark(). The M
        sleeps until startm hands it a P in m.nextp."""
        self.mput(s, m)
        s[self.L.pc[m]] = PC.PARKED
        return Action("stopm", m=m)

    # ---- running the G found ------------------------------------------------

    @step(PC.EXECUTE)
    def schedule_execute(self, s: list[int], m: int, c: None) -> Action:
        """schedule(), after findRunnable: a spinning M stops spinning with
        resetspinning() — m.spinning = false; nmspinning.Add(-1); wakep():
        the last spinning M to find work must start another one, since
        submitters did not wake anyone while it was spinning."""
        L = self.L
        if s[L.spinning[m]]:
            s[L.spinning[m]] = 0
            if not self.nmspinning_dec(s, m):
                return Action("resetspinning", m=m).throws()
            self.call(s, m, PC.WAKEP_CAS, PC.EXEC)
            return Action("resetspinning", m=m)
        return self.execute(s, m, None)

    @step(PC.EXEC)
    def execute(self, s: list[int], m: int, c: None) -> Action:
        """execute(gp, inheritTime): m.curg = gp; casgstatus(_Grunnable,
        _Grunning); gp.preempt = false; pp.schedtick++ unless the G inherits
        the time slice (it came from runnext)."""
        L = self.L
        p = s[L.m_p[m]]
        g = s[L.gp[m]]
        owner = self.lockedm(s, g)
        if owner != NONE and owner != m:
            return self.startlockedm(s, m, g, owner)
        inherit = s[L.inherit[m]]
        if not self.casgstatus(s, m, g, G_RUNNABLE, G_RUNNING):
            return Action("execute", m=m, g=g).throws()
        s[L.gp[m]] = NONE
        s[L.inherit[m]] = 0
        s[L.curg[m]] = g
        s[L.g_preempt[g]] = 0
        if not inherit:
            self.schedtick_advance(s, p)
        s[L.pc[m]] = PC.RUN
        return Action("execute", m=m, p=p, g=g, inherit=inherit)

    # ---- locked threads (LockOSThread) ------------------------------------------

    @foldable
    def lockedm(self, t: bytes | list[int], g: int) -> int:
        """gp.lockedm: the M whose lockedg is g, or NONE."""
        L = self.L
        owner = NONE
        for a in range(L.nM):
            if t[L.lockedg[a]] == g:
                owner = a
        return owner

    def stoplockedm(self, s: list[int], m: int) -> Action:
        """schedule(): `if mp.lockedg != 0 { stoplockedm(); execute(lockedg) }`
        — an M locked to a G runs nothing else: stoplockedm hands its P off
        (handoffp(releasep())), incidlelocked(1), and sleeps until an M that
        finds the G runnable hands it the G and a P (startlockedm)."""
        L = self.L
        p = s[L.m_p[m]]
        if p == NONE:
            s[L.pc[m]] = PC.LOCKED_WAIT
            return Action("stoplockedm", m=m)
        self.releasep(s, m)
        s[L.pp[m]] = p
        s[L.spin_arg[m]] = 0
        self.call(s, m, PC.HANDOFFP, PC.LOCKED_WAIT)
        return Action("stoplockedm", m=m).arg("handoffp p", p)

    def startlockedm(self, s: list[int], m: int, g: int, owner: int) -> Action:
        """schedule(), with gp.lockedm set to another M: startlockedm(gp) —
        incidlelocked(-1); pp = releasep(); mp.nextp = pp;
        notewakeup(&mp.park); then stopm(). The G goes with the P, "in
        flight": in the model, the locked M's m.gp until it runs it. (One
        step: until the wakeup the P and the sleeping M are this M's alone.)"""
        L = self.L
        p = self.releasep(s, m)
        s[L.nextp[owner]] = p
        s[L.gp[owner]] = g
        s[L.gp[m]] = NONE
        s[L.inherit[m]] = 0
        s[L.pc[m]] = PC.STOPM
        return Action("startlockedm", m=m, g=g).arg("to m", owner).arg("p", p)

    @choices(PC.LOCKED_WAIT)
    def locked_wait_choices(self, t: bytes, m: int) -> list[None]:
        """The M sleeps until startlockedm has set its nextp (notewakeup)."""
        return [None] if t[self.L.nextp[m]] != NONE else []

    @step(PC.LOCKED_WAIT)
    def stoplockedm_wakes(self, s: list[int], m: int, c: None) -> Action:
        """stoplockedm, woken: acquirep(mp.nextp); then schedule() runs
        execute(mp.lockedg, false)."""
        L = self.L
        p = s[L.nextp[m]]
        s[L.nextp[m]] = NONE
        self.acquirep(s, m, p)
        s[L.inherit[m]] = 0
        s[L.pc[m]] = PC.EXEC
        return Action("stoplockedm.acquirep", m=m, p=p, g=s[L.gp[m]])

    @step(PC.MEXIT)
    def mexit(self, s: list[int], m: int, c: None) -> Action:
        """mexit, after its handoffp: the thread exits and its M is freed
        (a later newm may reuse the slot)."""
        s[self.L.pc[m]] = PC.NOT_CREATED
        return Action("mexit", m=m)

    def schedtick_advance(self, s: list[int], p: int) -> None:
        """pp.schedtick++ (kept modulo the period; sysmon only sees whether it
        moved since its last look)."""
        L = self.L
        s[L.schedtick[p]] = (s[L.schedtick[p]] + 1) % self.cfg.period
        s[L.sched_age[p]] = 0
