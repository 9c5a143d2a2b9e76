"""schedule() and findRunnable() (model/schedule.py, step for step): the
schedtick%61 global check, the local run queue, the global queue, stealing,
dropping the P under sched.lock, the spinning -> non-spinning transition and
its re-checks, stopm, resetspinning, execute.

Where Go's findRunnable is one call that loops, the runtime's M stops
between its steps, keeping findRunnable's locals on the M (runtime/objects.py):
a replay can then let it take exactly one step at a time.
"""

from __future__ import annotations

from model.machine import choices, step
from model.pcs import PC
from model.state import G_RUNNABLE, G_RUNNING
from runtime.locks import Unit
from runtime.machine import plan
from runtime.queues import Queues


class Schedule(Queues):
    # ---- findRunnable: the places a G can come from -----------------------

    @plan(PC.SCHEDULE)
    def plan_schedule(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        if mp.lockedg is not None:  # stoplockedm
            units = [mp.unit, self.sched.unit]
            return units if mp.p is None else [*units, self.allp[mp.p].unit]
        pp = self.allp[mp.p]  # type: ignore[index]
        units = [mp.unit, pp.unit]
        if pp.schedtick % self.cfg.period == 0:
            units += [self.sched.unit, self.sched.u_runqsize]
        return units

    @step(PC.SCHEDULE)
    def schedule(self, m: int, c: None) -> str:
        """schedule() -> findRunnable(), first source: once every `period`
        schedticks, take one G from the global queue before the local one
        (lock; globrunqget(); unlock)."""
        mp = self.allm[m]
        if mp.lockedg is not None:
            return self.stoplockedm(m)
        p = mp.p
        assert p is not None
        if self.allp[p].schedtick % self.cfg.period == 0:
            g = self.globrunqget()
            if g is not None:
                self.to_execute(m, g, False)
                return f"findRunnable.globrunqget(m={m}, p={p}, g={g})"
            mp.pc = PC.FR_RUNQGET
            return f"findRunnable.schedtick-check(m={m}, p={p}, empty)"
        return self.findRunnable_runqget(m, None)

    @plan(PC.FR_RUNQGET)
    def plan_own_p(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        return [mp.unit, self.allp[mp.p].unit]  # type: ignore[index]

    @step(PC.FR_RUNQGET)
    def findRunnable_runqget(self, m: int, c: None) -> str:
        """findRunnable: `runqget(pp)` — runnext first, then the ring's head."""
        mp = self.allm[m]
        p = mp.p
        assert p is not None
        g, inherit = self.runqget(p)
        if g is not None:
            self.to_execute(m, g, inherit)
            where = "runnext" if inherit else "ring"
            return f"findRunnable.runqget(m={m}, p={p}, g={g}, from={where})"
        mp.pc = PC.FR_GLOBRUNQ
        return f"findRunnable.runqget(m={m}, p={p}, empty)"

    @plan(PC.FR_GLOBRUNQ)
    def plan_globrunq(self, m: int, c: None) -> list[Unit]:
        return [self.allm[m].unit, self.sched.unit, self.sched.u_runqsize]

    @step(PC.FR_GLOBRUNQ)
    def findRunnable_globrunq(self, m: int, c: None) -> str:
        """findRunnable: the global queue, in a batch — lock;
        globrunqgetbatch(len(runq)/2); unlock; the extras go to the own ring
        in the next step (runqputbatch after the unlock, as Go 1.25 does)."""
        mp = self.allm[m]
        p = mp.p
        gs = self.globrunqgetbatch(self.cfg.ring // 2)
        if gs:
            self.set_batch(m, gs[1:])
            self.to_execute(m, gs[0], False)
            return f"findRunnable.globrunqgetbatch(m={m}, p={p}, gs={gs})"
        mp.pc = self.steal_start() if mp.spinning else PC.FR_STEAL_CHECK
        return f"findRunnable.globrunq(m={m}, p={p}, empty)"

    @plan(PC.FR_STEAL_CHECK)
    def plan_steal_check(self, m: int, c: None) -> list[Unit]:
        return [self.allm[m].unit, self.sched.u_nmspinning, self.sched.u_npidle]

    @step(PC.FR_STEAL_CHECK)
    def findRunnable_steal_check(self, m: int, c: None) -> str:
        """findRunnable: a non-spinning M steals only while
        `2*nmspinning < gomaxprocs - npidle`, otherwise it drops its P."""
        busy = len(self.allp) - self.npidle()
        if 2 * self.sched.nmspinning.load() < busy:
            self.allm[m].pc = PC.FR_BECOME_SPINNING
            return f"findRunnable.spin-limit(m={m}, steal)"
        self.allm[m].pc = PC.FR_DROP
        return f"findRunnable.spin-limit(m={m}, skip)"

    @plan(PC.FR_BECOME_SPINNING)
    def plan_become_spinning(self, m: int, c: None) -> list[Unit]:
        return [self.allm[m].unit, self.sched.u_nmspinning, self.sched.u_needspinning]

    @step(PC.FR_BECOME_SPINNING)
    def findRunnable_become_spinning(self, m: int, c: None) -> str:
        """mp.becomeSpinning(): m.spinning = true; nmspinning.Add(1);
        needspinning.Store(0)."""
        self.becomeSpinning(m)
        self.allm[m].pc = self.steal_start()
        return f"findRunnable.becomeSpinning(m={m})"

    def steal_start(self) -> PC:
        return PC.FR_STEAL if len(self.allp) > 1 else PC.FR_DROP

    @choices(PC.FR_STEAL)
    def steal_choices(self, m: int) -> list[int]:
        """The Ps stealWork has not visited in this pass (the free run's
        policy visits them in a random order, as stealOrder does)."""
        mp = self.allm[m]
        mask = mp.mask | 1 << mp.p  # type: ignore[operator]
        return [v for v in range(len(self.allp)) if not mask & 1 << v]

    @plan(PC.FR_STEAL)
    def plan_steal(self, m: int, victim: int) -> list[Unit]:
        return [self.allm[m].unit, self.sched.u_idlepMask, self.allp[victim].unit]

    @step(PC.FR_STEAL)
    def findRunnable_steal(self, m: int, victim: int) -> str:
        """stealWork: one victim. Idle Ps (idlepMask) are skipped; otherwise
        runqsteal(pp, p2, stealRunNextG = last pass) -> runqgrab: half of the
        victim's ring. With the ring empty on the last pass, runqgrab reads
        the victim's runnext here, sleeps (usleep(3)) and CASes it in the
        next step (FR_STEAL_RUNNEXT). The last G stolen is run, the others
        are published on the own ring in the next step."""
        mp = self.allm[m]
        p = mp.p
        assert p is not None
        last = mp.steal_pass == self.cfg.steal_tries - 1
        mp.mask |= 1 << victim
        if self.p_is_idle(victim):
            return self.steal_none(m, victim, last)
        stolen = self.runqgrab(victim)
        if stolen:
            return self.steal_got(m, victim, stolen)
        nxt = self.allp[victim].runq.runnext.load()
        if last and nxt is not None:
            mp.steal_victim = victim
            mp.steal_next = nxt
            mp.pc = PC.FR_STEAL_RUNNEXT
            return f"stealWork.runnext-read(m={m}, p={p}, victim={victim}, g={nxt})"
        return self.steal_none(m, victim, last)

    @plan(PC.FR_STEAL_RUNNEXT)
    def plan_steal_runnext(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        return [mp.unit, self.allp[mp.steal_victim].unit]  # type: ignore[index]

    @step(PC.FR_STEAL_RUNNEXT)
    def findRunnable_steal_runnext(self, m: int, c: None) -> str:
        """runqgrab after its usleep(3): CAS the victim's runnext from the G
        read to nil; if that fails, start over on the same victim (its ring,
        its runnext read again, or nothing)."""
        mp = self.allm[m]
        p = mp.p
        victim, nxt = mp.steal_victim, mp.steal_next
        assert p is not None and victim is not None and nxt is not None
        mp.steal_victim = mp.steal_next = None
        if self.runnext_cas(victim, nxt):
            return self.steal_got(m, victim, [nxt], ", runnext")
        stolen = self.runqgrab(victim)
        if stolen:
            return self.steal_got(m, victim, stolen, ", runnext cas failed")
        again = self.allp[victim].runq.runnext.load()
        if again is not None:
            mp.steal_victim, mp.steal_next = victim, again
            return f"stealWork.runnext-cas(m={m}, p={p}, victim={victim}, failed, read g={again})"
        mp.pc = PC.FR_STEAL
        return self.steal_none(m, victim, True, "runnext-cas")

    def steal_got(self, m: int, victim: int, stolen: list[int], how: str = "") -> str:
        mp = self.allm[m]
        mp.steal_pass = 0
        mp.mask = 0
        self.set_batch(m, stolen[:-1])
        self.to_execute(m, stolen[-1], False)
        return f"stealWork(m={m}, p={mp.p}, victim={victim}, gs={stolen}{how})"

    def steal_none(self, m: int, victim: int, last: bool, step: str = "") -> str:
        mp = self.allm[m]
        p = mp.p
        assert p is not None
        if mp.mask | 1 << p == (1 << len(self.allp)) - 1:
            mp.mask = 0
            mp.steal_pass += 1
            if mp.steal_pass == self.cfg.steal_tries:
                mp.steal_pass = 0
                mp.pc = PC.FR_DROP
        name = f"stealWork.{step}" if step else "stealWork"
        return f"{name}(m={m}, p={p}, victim={victim}, pass={int(last)}, none)"

    @plan(PC.RUNQPUTBATCH)
    def plan_runqputbatch(self, m: int, c: None) -> list[Unit]:
        return self.plan_own_p(m, c)

    @step(PC.RUNQPUTBATCH)
    def runqputbatch_step(self, m: int, c: None) -> str:
        """runqputbatch(pp, q) after globrunqgetbatch, or runqsteal's publish of
        runqtail: the extras become visible on the own ring."""
        mp = self.allm[m]
        p = mp.p
        assert p is not None
        gs = self.take_batch(m)
        self.runqputbatch(p, gs)
        mp.pc = PC.EXECUTE
        return f"runqputbatch(m={m}, p={p}, gs={gs})"

    # ---- dropping the P ---------------------------------------------------

    @plan(PC.FR_DROP)
    def plan_drop(self, m: int, c: None) -> list[Unit]:
        s = self.sched
        return [
            *self.plan_own_p(m, c),
            s.unit,
            s.u_runqsize,
            s.u_npidle,
            s.u_idlepMask,
            s.u_nmspinning,
            s.u_needspinning,
        ]

    @step(PC.FR_DROP)
    def findRunnable_drop(self, m: int, c: None) -> str:
        """findRunnable, `lock(&sched.lock)` before dropping the P: the global
        queue re-checked under the lock; a non-spinning M that sees
        needspinning == 1 keeps its P and spins (golang/go#45867);
        otherwise releasep(); pidleput(pp); unlock."""
        mp = self.allm[m]
        p = mp.p
        assert p is not None
        gs = self.globrunqgetbatch(self.cfg.ring // 2)
        if gs:
            self.set_batch(m, gs[1:])
            self.to_execute(m, gs[0], False)
            return f"findRunnable.drop.globrunqgetbatch(m={m}, p={p}, gs={gs})"
        if not mp.spinning and self.sched.needspinning.load() == 1:
            self.becomeSpinning(m)
            mp.pc = PC.SCHEDULE
            return f"findRunnable.drop.needspinning(m={m}, p={p})"
        self.releasep(m)
        self.pidleput(p)
        mp.pc = PC.FR_SPIN_DOWN if mp.spinning else PC.STOPM
        return f"findRunnable.releasep(m={m}, p={p})"

    @plan(PC.FR_SPIN_DOWN)
    def plan_nmspinning(self, m: int, c: None) -> list[Unit]:
        return [self.allm[m].unit, self.sched.u_nmspinning]

    @step(PC.FR_SPIN_DOWN)
    def findRunnable_spin_down(self, m: int, c: None) -> str:
        """The spinning -> non-spinning transition, part 1: m.spinning =
        false; nmspinning.Add(-1); the re-checks come after ("delicate dance")."""
        mp = self.allm[m]
        mp.spinning = 0
        if not self.nmspinning_dec(m):
            return f"findRunnable.spinning-down(m={m}) throws"
        mp.pc = PC.FR_RECHECK_GLOBAL
        return f"findRunnable.spinning-down(m={m})"

    @plan(PC.FR_RECHECK_GLOBAL)
    def plan_recheck_global(self, m: int, c: None) -> list[Unit]:
        s = self.sched
        return [
            self.allm[m].unit,
            s.unit,
            s.u_runqsize,
            s.u_npidle,
            s.u_idlepMask,
            s.u_needspinning,
        ]

    @step(PC.FR_RECHECK_GLOBAL)
    def findRunnable_recheck_global(self, m: int, c: None) -> str:
        """Re-check the global queue under sched.lock: if it has work, take an
        idle P with pidlegetSpinning and a batch for it."""
        mp = self.allm[m]
        if not self.globrunq_empty():
            p = self.pidlegetSpinning()
            if p is not None:
                gs = self.globrunqgetbatch(self.cfg.ring // 2)
                mp.pp = p
                mp.gp = gs[0]
                self.set_batch(m, gs[1:])
                mp.pc = PC.FR_RECHECK_ACQUIRE
                return f"findRunnable.recheck.globrunq(m={m}, p={p}, gs={gs})"
            mp.pc = PC.FR_RECHECK_RUNQS
            return f"findRunnable.recheck.globrunq(m={m}, no idle P)"
        mp.pc = PC.FR_RECHECK_RUNQS
        return f"findRunnable.recheck.globrunq(m={m}, empty)"

    @choices(PC.FR_RECHECK_RUNQS)
    def recheck_choices(self, m: int) -> list[int]:
        """checkRunqsNoP walks allp in order: the Ps not looked at yet."""
        mask = self.allm[m].mask
        return [p for p in range(len(self.allp)) if not mask & 1 << p]

    @plan(PC.FR_RECHECK_RUNQS)
    def plan_recheck_runqs(self, m: int, p: int) -> list[Unit]:
        return [self.allm[m].unit, self.sched.u_idlepMask, self.allp[p].unit]

    @step(PC.FR_RECHECK_RUNQS)
    def findRunnable_recheck_runqs(self, m: int, p: int) -> str:
        """checkRunqsNoP: for one P, `!idlepMask.read(id) && !runqempty(p2)`."""
        mp = self.allm[m]
        if not self.p_is_idle(p) and not self.runqempty(p):
            mp.mask = 0
            mp.pc = PC.FR_RECHECK_PIDLE
            return f"checkRunqsNoP(m={m}, p={p}, work)"
        mp.mask |= 1 << p
        if mp.mask == (1 << len(self.allp)) - 1:
            mp.mask = 0
            mp.pc = PC.STOPM
        return f"checkRunqsNoP(m={m}, p={p}, empty)"

    @plan(PC.FR_RECHECK_PIDLE)
    def plan_recheck_pidle(self, m: int, c: None) -> list[Unit]:
        s = self.sched
        return [self.allm[m].unit, s.unit, s.u_npidle, s.u_idlepMask, s.u_needspinning]

    @step(PC.FR_RECHECK_PIDLE)
    def findRunnable_recheck_pidle(self, m: int, c: None) -> str:
        """checkRunqsNoP: lock; pidlegetSpinning(); unlock. No idle P: stopm."""
        mp = self.allm[m]
        p = self.pidlegetSpinning()
        if p is None:
            mp.pc = PC.STOPM
            return f"checkRunqsNoP.pidlegetSpinning(m={m}, none, needspinning)"
        mp.pp = p
        mp.pc = PC.FR_RECHECK_ACQUIRE
        return f"checkRunqsNoP.pidlegetSpinning(m={m}, p={p})"

    @plan(PC.FR_RECHECK_ACQUIRE)
    def plan_recheck_acquire(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        return [
            mp.unit,
            self.allp[mp.pp].unit,  # type: ignore[index]
            self.sched.u_nmspinning,
            self.sched.u_needspinning,
        ]

    @step(PC.FR_RECHECK_ACQUIRE)
    def findRunnable_recheck_acquire(self, m: int, c: None) -> str:
        """After a re-check found work and an idle P: runqputbatch(pp, q),
        acquirep(pp), mp.becomeSpinning(); then run the G taken from the
        global queue, or start findRunnable over."""
        mp = self.allm[m]
        p = mp.pp
        assert p is not None
        mp.pp = None
        self.runqputbatch(p, self.take_batch(m))
        self.acquirep(m, p)
        self.becomeSpinning(m)
        if mp.gp is not None:
            mp.inherit = 0
            mp.pc = PC.EXECUTE
        else:
            mp.pc = PC.SCHEDULE
        return f"findRunnable.recheck.acquirep(m={m}, p={p})"

    @plan(PC.STOPM)
    def plan_stopm(self, m: int, c: None) -> list[Unit]:
        return [self.allm[m].unit, self.sched.unit]

    @step(PC.STOPM)
    def stopm(self, m: int, c: None) -> str:
        """stopm: lock; mput(m); unlock; then mPark() — the M's thread sleeps
        on m.park after this step (runtime/threads.py) until startm wakes it."""
        self.mput(m)
        self.allm[m].pc = PC.PARKED
        return f"stopm(m={m})"

    # ---- running the G found ------------------------------------------------

    @plan(PC.EXECUTE)
    def plan_execute(self, m: int, c: None) -> list[Unit]:
        return [*self.plan_exec(m, c), self.sched.u_nmspinning]

    @step(PC.EXECUTE)
    def schedule_execute(self, m: int, c: None) -> str:
        """schedule(), after findRunnable: a spinning M stops spinning with
        resetspinning() — m.spinning = false; nmspinning.Add(-1); wakep()."""
        mp = self.allm[m]
        if mp.spinning:
            mp.spinning = 0
            if not self.nmspinning_dec(m):
                return f"resetspinning(m={m}) throws"
            self.call(m, PC.WAKEP_CAS, PC.EXEC)
            return f"resetspinning(m={m})"
        return self.execute(m, None)

    @plan(PC.EXEC)
    def plan_exec(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        units = [mp.unit, self.allp[mp.p].unit, self.allg[mp.gp].unit]  # type: ignore[index]
        owner = self.lockedm(mp.gp)  # type: ignore[arg-type]
        if owner is not None and owner != m:  # startlockedm
            units += [self.allm[owner].unit, self.sched.unit]
        return units

    def lockedm(self, g: int) -> int | None:
        """gp.lockedm: the M whose lockedg is g."""
        for mp in self.allm:
            if mp.lockedg == g and mp.lockedg is not None:
                return mp.id
        return None

    def stoplockedm(self, m: int) -> str:
        """schedule() on a locked M: stoplockedm() — handoffp(releasep()),
        incidlelocked(1), sleep until startlockedm hands it its G and a P."""
        mp = self.allm[m]
        p = mp.p
        if p is None:
            mp.pc = PC.LOCKED_WAIT
            self.incidlelocked(1)
            return f"stoplockedm(m={m})"
        self.releasep(m)
        mp.pp = p
        mp.spin_arg = 0
        self.call(m, PC.HANDOFFP, PC.LOCKED_WAIT)
        return f"stoplockedm(m={m}, handoffp p={p})"

    def startlockedm(self, m: int, g: int, owner: int) -> str:
        """startlockedm(gp): incidlelocked(-1); pp = releasep(); mp.nextp =
        pp; notewakeup(&mp.park); stopm() (the next step)."""
        mp, lp = self.allm[m], self.allm[owner]
        self.incidlelocked(-1)
        p = self.releasep(m)
        lp.nextp = p
        lp.gp = g
        mp.gp = None
        mp.inherit = 0
        mp.pc = PC.STOPM
        lp.park.wakeup()  # notewakeup(&mp.park)
        return f"startlockedm(m={m}, g={g}, to m={owner}, p={p})"

    @choices(PC.LOCKED_WAIT)
    def locked_wait_choices(self, m: int) -> list[None]:
        return [None] if self.allm[m].nextp is not None else []

    @plan(PC.LOCKED_WAIT)
    def plan_locked_wait(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        return [mp.unit, self.allp[mp.nextp].unit]  # type: ignore[index]

    @step(PC.LOCKED_WAIT)
    def stoplockedm_wakes(self, m: int, c: None) -> str:
        """stoplockedm, woken: acquirep(mp.nextp); then execute(lockedg)."""
        mp = self.allm[m]
        p = mp.nextp
        assert p is not None
        mp.nextp = None
        self.acquirep(m, p)
        mp.inherit = 0
        mp.pc = PC.EXEC
        return f"stoplockedm.acquirep(m={m}, p={p}, g={mp.gp})"

    @plan(PC.MEXIT)
    def plan_mexit(self, m: int, c: None) -> list[Unit]:
        return [self.allm[m].unit, self.sched.unit]

    @step(PC.MEXIT)
    def mexit(self, m: int, c: None) -> str:
        """mexit, after its handoffp: the thread exits and its M is freed."""
        self.allm[m].pc = PC.NOT_CREATED
        self.sched.mcount -= 1
        return f"mexit(m={m})"

    @step(PC.EXEC)
    def execute(self, m: int, c: None) -> str:
        """execute(gp, inheritTime): m.curg = gp; casgstatus(_Grunnable,
        _Grunning); gp.preempt = false; pp.schedtick++ unless inherited."""
        mp = self.allm[m]
        p = mp.p
        g = mp.gp
        assert p is not None and g is not None
        owner = self.lockedm(g)
        if owner is not None and owner != m:
            return self.startlockedm(m, g, owner)
        inherit = mp.inherit
        if not self.casgstatus(m, g, G_RUNNABLE, G_RUNNING):
            return f"execute(m={m}, g={g}) throws"
        mp.gp = None
        mp.inherit = 0
        mp.curg = g
        self.allg[g].preempt = 0
        if not inherit:
            self.allp[p].schedtick += 1
        mp.pc = PC.RUN
        return f"execute(m={m}, p={p}, g={g}, inherit={inherit})"
