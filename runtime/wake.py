"""wakep, startm, the started M's first step, handoffp (model/wake.py, step
for step). Ms and sysmon both run these; they return to the caller's `ret`.

Where the runtime must differ from the model: startm really wakes the M it
took off the idle list (notewakeup on its park note) or really starts a new
thread (newm), and the woken M's thread runs its next step by itself.
"""

from __future__ import annotations

from model.machine import TRUNCATED, step
from model.pcs import PC
from runtime.locks import Unit
from runtime.machine import plan, top
from runtime.queues import Queues


class Wake(Queues):
    # ---- wakep ------------------------------------------------------------

    @plan(PC.WAKEP_CAS)
    def plan_wakep_cas(self, a: int, c: None) -> list[Unit]:
        return [self.allm[a].unit, self.sched.u_nmspinning]

    @step(PC.WAKEP_CAS)
    def wakep_cas(self, a: int, c: None) -> str:
        """wakep(): `if nmspinning != 0 || !nmspinning.CompareAndSwap(0, 1)
        { return }` — start a spinning M only if none exists."""
        n = self.sched.nmspinning.load()
        if n != 0 or not self.sched.nmspinning.cas(0, 1):
            self.ret(a)
            return f"wakep(m={a}, nmspinning={n}, no)"
        self.allm[a].pc = PC.WAKEP_PIDLE
        return f"wakep.cas(m={a})"

    @plan(PC.WAKEP_PIDLE)
    def plan_wakep_pidle(self, a: int, c: None) -> list[Unit]:
        s = self.sched
        return [self.allm[a].unit, s.unit, s.u_npidle, s.u_idlepMask, s.u_needspinning] + [
            s.u_nmspinning
        ]

    @step(PC.WAKEP_PIDLE)
    def wakep_pidle(self, a: int, c: None) -> str:
        """wakep(): lock; pp = pidlegetSpinning(); no idle P: undo the
        increment, unlock, return; else unlock and startm(pp, spinning=true)."""
        mp = self.allm[a]
        p = self.pidlegetSpinning()
        if p is None:
            if not self.nmspinning_dec(a):
                return f"wakep.pidlegetSpinning(m={a}) throws"
            self.ret(a)
            return f"wakep.pidlegetSpinning(m={a}, none)"
        mp.pp = p
        mp.spin_arg = 1
        mp.pc = PC.STARTM
        return f"wakep.pidlegetSpinning(m={a}, p={p})"

    # ---- startm -----------------------------------------------------------

    @plan(PC.STARTM)
    def plan_startm(self, a: int, c: None) -> list[Unit]:
        units = [self.allm[a].unit, self.sched.unit]
        nmp = top(self.sched.midle)  # read before the lock: checked again under it
        if nmp is None:
            nmp = self.newm_slot()
        if nmp is not None:
            units.append(self.allm[nmp].unit)
        return units

    @step(PC.STARTM)
    def startm(self, a: int, c: None) -> str:
        """startm(pp, spinning, lockheld=false): lock; nmp = mget(). None idle:
        mReserveID() — the new M counts as running for checkdead before the
        lock is dropped — then newm(fn, pp), a new thread. Otherwise unlock;
        nmp.spinning = spinning; nmp.nextp = pp; notewakeup(&nmp.park)."""
        mp = self.allm[a]
        p = mp.pp
        spinning = mp.spin_arg
        nmp = self.mget()
        if nmp is None:
            nmp = self.newm_slot()
            if nmp is None:
                return TRUNCATED  # more threads than the configuration allows
            self.sched.mcount += 1  # mReserveID, under sched.lock
            self.allm[nmp].spin_arg = spinning  # newm(mspinning, pp): set by the new thread
            how = "newm"
        else:
            self.allm[nmp].spinning = spinning
            how = "mget"
        new = self.allm[nmp]
        new.nextp = p
        new.pc = PC.MSTART
        mp.pp = None
        mp.spin_arg = 0
        self.ret(a)
        if how == "newm":
            self.newm(nmp)  # the thread starts; it takes its first step once we unlock
        else:
            new.park.wakeup()  # notewakeup(&nmp.park)
        return f"startm({self.who(a)}, p={p}, spinning={spinning}, {how}={nmp})"

    def newm_slot(self) -> int | None:
        """The M that newm creates: the lowest thread slot not yet in use."""
        for m in range(self.L.nM):
            if self.allm[m].pc == PC.NOT_CREATED:
                return m
        return None

    @plan(PC.MSTART)
    def plan_mstart(self, m: int, c: None) -> list[Unit]:
        mp = self.allm[m]
        return [mp.unit, self.allp[mp.nextp].unit]  # type: ignore[index]

    @step(PC.MSTART)
    def mstart(self, m: int, c: None) -> str:
        """The M started by startm runs: a new thread runs mstart1 (mspinning
        sets m.spinning first, if asked), a parked one returns from mPark in
        stopm; both acquirep(m.nextp) and enter schedule()."""
        mp = self.allm[m]
        if mp.spin_arg:
            mp.spinning = 1
            mp.spin_arg = 0
        p = mp.nextp
        assert p is not None
        mp.nextp = None
        self.acquirep(m, p)
        mp.pc = PC.SCHEDULE
        return f"mstart(m={m}, p={p}, spinning={mp.spinning})"

    # ---- handoffp ---------------------------------------------------------

    @plan(PC.HANDOFFP)
    def plan_handoffp(self, a: int, c: None) -> list[Unit]:
        mp = self.allm[a]
        return [mp.unit, self.allp[mp.pp].unit, self.sched.u_runqsize]  # type: ignore[index]

    @step(PC.HANDOFFP)
    def handoffp(self, a: int, c: None) -> str:
        """handoffp(pp): local work or global work: startm(pp, false) now."""
        mp = self.allm[a]
        p = mp.pp
        assert p is not None
        if not self.runqempty(p) or not self.globrunq_empty():
            mp.spin_arg = 0
            mp.pc = PC.STARTM
            return f"handoffp({self.who(a)}, p={p}, work)"
        mp.pc = PC.HANDOFFP_SPIN
        return f"handoffp({self.who(a)}, p={p}, no work)"

    @plan(PC.HANDOFFP_SPIN)
    def plan_handoffp_spin(self, a: int, c: None) -> list[Unit]:
        s = self.sched
        return [self.allm[a].unit, s.u_npidle, s.u_nmspinning, s.u_needspinning]

    @step(PC.HANDOFFP_SPIN)
    def handoffp_spin(self, a: int, c: None) -> str:
        """handoffp: no local work; if no M spins and no P is idle
        (`nmspinning + npidle == 0`) and CAS(nmspinning, 0, 1): needspinning
        = 0; startm(pp, true) — someone must look for work."""
        mp = self.allm[a]
        p = mp.pp
        s = self.sched
        if s.nmspinning.load() + self.npidle() == 0 and s.nmspinning.cas(0, 1):
            s.needspinning.store(0)
            mp.spin_arg = 1
            mp.pc = PC.STARTM
            return f"handoffp.spinning({self.who(a)}, p={p})"
        mp.pc = PC.HANDOFFP_LOCK
        return f"handoffp.spinning({self.who(a)}, p={p}, not needed)"

    @plan(PC.HANDOFFP_LOCK)
    def plan_handoffp_lock(self, a: int, c: None) -> list[Unit]:
        s = self.sched
        return [self.allm[a].unit, s.unit, s.u_runqsize, s.u_npidle, s.u_idlepMask]

    @step(PC.HANDOFFP_LOCK)
    def handoffp_lock(self, a: int, c: None) -> str:
        """handoffp: lock; the global queue re-checked under the lock; the last
        running P starts an M (no M polls the network in the runtime either);
        else pidleput(pp); unlock."""
        mp = self.allm[a]
        p = mp.pp
        assert p is not None
        if not self.globrunq_empty() or self.npidle() == len(self.allp) - 1:
            mp.spin_arg = 0
            mp.pc = PC.STARTM
            why = "global work" if not self.globrunq_empty() else "last P"
            return f"handoffp.lock({self.who(a)}, p={p}, {why})"
        self.pidleput(p)
        mp.pp = None
        self.ret(a)
        return f"handoffp.pidleput({self.who(a)}, p={p})"
