"""wakep, startm, newm and mstart, handoffp (proc.go): how an idle P gets
an M. Ms and sysmon both call them; a P handed to startm is the caller's
until the M it wakes takes it (acquirep in mstart)."""

from __future__ import annotations

from model.state import THROW_QUEUE_OVERFLOW
from runtime.control import Throw
from runtime.objects import M, P
from runtime.proc import Proc, traced


class Wakeup(Proc):
    @traced
    def wakep(self, mp: M) -> None:
        """wakep(): be conservative, start a spinning M only if none exists:
        `if nmspinning != 0 || !nmspinning.CompareAndSwap(0, 1) { return }`.
        This read comes after the caller published its work (the
        submitter's side of the StoreLoad handshake with findRunnable's
        spinning -> non-spinning transition). Then lock; pidlegetSpinning;
        no idle P: undo the increment; else startm(pp, spinning=true)."""
        self.point(mp, "wakep")
        if not self.wakep_claim():
            return
        self.point(mp, "wakep: pidlegetSpinning")
        with self.sched.lock:
            pp = self.pidlegetSpinning()
        if pp is None:
            self.wakep_unclaim()
            return
        self.startm(mp, pp, True)

    def wakep_claim(self) -> bool:
        """`nmspinning.Load() == 0 && nmspinning.CompareAndSwap(0, 1)`: this
        M is the one to start a spinning M."""
        nm = self.sched.nmspinning
        return nm.load() == 0 and nm.cas(0, 1)

    def wakep_unclaim(self) -> None:
        """No idle P after all: undo the claim (nmspinning.Add(-1))."""
        self.nmspinning_dec()

    @traced
    def startm(self, mp: M, pp: P, spinning: bool) -> None:
        """startm(pp, spinning): lock; nmp = mget(); none idle: mReserveID()
        (the new M counts for checkdead before the lock is dropped,
        golang/go#40368) and newm(pp) whose thread starts spinning if asked;
        else unlock; nmp.spinning = spinning; nmp.nextp = pp;
        notewakeup(&nmp.park). With no thread left to start (the
        configuration's bound) the step is not open."""
        self.choose(
            mp, "startm", lambda: [None] if self.sched.midle or self.free_m() else [],
            pp=pp.id, spin_arg=int(spinning),
        )  # fmt: skip
        with self.sched.lock:
            nmp = self.mget()
            new = nmp is None
            if nmp is None:
                nmp = self.free_m()
                if nmp is None:
                    raise Throw(THROW_QUEUE_OVERFLOW, "startm: no M", void=True)
                self.sched.mcount += 1  # mReserveID
        nmp.nextp = pp.id
        if new:
            self.newm(nmp, spinning)
        else:
            nmp.spinning = spinning
            self.notewakeup(nmp)

    def free_m(self) -> M | None:
        """The M newm would create: the lowest thread slot not in use."""
        return next((m for m in self.allm[: self.nM] if m.state == "gone"), None)

    def mstart(self, mp: M, spinning: bool) -> None:
        """A new M's thread: mstart -> mstart1 (mspinning sets m.spinning, if
        asked) -> acquirep(m.nextp) -> schedule(), forever."""
        self.point(mp, "mstart", spin_arg=int(spinning))
        if spinning:
            mp.spinning = True
        assert mp.nextp is not None
        self.acquirep(mp, self.allp[mp.nextp])
        mp.nextp = None
        self.schedule(mp)

    @traced
    def handoffp(self, mp: M, pp: P) -> None:
        """handoffp(pp): "handoffp must start an M in any situation where
        findRunnable would return a G to run on pp": local or global work,
        startm(pp, false); no spinning M and no idle P, one must look for
        work: startm(pp, true); under sched.lock the global queue again,
        and the last running P keeps an M to poll the network; else
        pidleput(pp)."""
        self.point(mp, "handoffp", pp=pp.id)
        if not self.runqempty(pp) or self.globrunq_work():
            self.startm(mp, pp, False)
            return
        self.point(mp, "handoffp: spinning", pp=pp.id)
        nm = self.sched.nmspinning
        if nm.load() + self.npidle() == 0 and nm.cas(0, 1):
            self.sched.needspinning.store(0)
            self.startm(mp, pp, True)
            return
        self.point(mp, "handoffp: lock", pp=pp.id)
        with self.sched.lock:
            # `sched.lastpoll != 0` as well in Go: nobody polls the network.
            # The closed world has no network, so nobody ever does.
            last = self.npidle() == len(self.allp) - 1
            if not self.globrunq_work() and not last:
                self.pidleput(pp)
                return
        self.startm(mp, pp, False)

    def globrunq_work(self) -> bool:
        """handoffp's look at the global run queue."""
        return bool(self.sched.runq)

    def newm(self, mp: M, spinning: bool) -> None:
        raise NotImplementedError
