"""The runtime's side of the mutations: each bug of model/mutations.py
written again, in the runtime's own code. A mutation is declared once, in
model/mutations.py (name, summary, history, the property it violates,
where the checker catches it), and names the class here that carries the
same bug on real threads (`Mutation.runtime`), so that a counterexample
the checker found replays here (checker/replay/replay.py)."""

from __future__ import annotations

from model.state import G_SYSCALL, THROW_QUEUE_UNDERFLOW
from runtime.control import Throw
from runtime.objects import M, P
from runtime.proc import Found, traced
from runtime.scheduler import Runtime
from runtime.user import Next

# ---- bugs -----------------------------------------------------------------------


class RecheckBeforeDecrement(Runtime):
    """The re-checks come before the decrement of nmspinning."""

    def spinning_down(self, mp: M, ring: int) -> tuple[Found | None, bool]:
        found, again = self.recheck(mp, ring)
        if found is None and not again and mp.spinning:
            self.point(mp, "findRunnable: spinning down")
            mp.spinning = False
            self.nmspinning_dec()
        return found, again

    def becomeSpinning(self, mp: M) -> None:
        if not mp.spinning:  # found work while still spinning: already counted
            super().becomeSpinning(mp)


class NoNeedspinning(Runtime):
    """pidlegetSpinning without `sched.needspinning = 1`."""

    def pidlegetSpinning(self) -> P | None:
        return self.pidleget()


class ResetspinningNoWakep(Runtime):
    """resetspinning without its wakep()."""

    def resetspinning(self, mp: M) -> None:
        mp.spinning = False
        self.nmspinning_dec()


class StealNotAtomic(Runtime):
    """runqgrab copies half the victim's ring without the CAS of runqhead."""

    def runqgrab(self, p2: P) -> list[int]:
        ring = p2.runq.items()
        return ring[: len(ring) - len(ring) // 2]


class ExitsyscallDropsG(Runtime):
    """exitsyscall0 with no idle P forgets globrunqput(gp)."""

    def exitsyscall0(self, mp: M) -> Next:
        g = mp.curg
        nxt = super().exitsyscall0(mp)
        if nxt == ("stopm",):
            self.sched.runq.remove(g)  # type: ignore[arg-type]
        return nxt


class HandoffpIgnoresGlobalQueue(Runtime):
    """handoffp looks at the P's own run queue only."""

    def globrunq_work(self) -> bool:
        return False


class Exitsyscall0SkipsCasgstatus(Runtime):
    """exitsyscall0 (Go 1.26: exitsyscallNoP) queues the G in _Gsyscall: the
    status change to _Grunnable does not stick."""

    def exitsyscall0(self, mp: M) -> Next:
        g = mp.curg
        assert g is not None
        nxt = super().exitsyscall0(mp)
        self.allg[g].status = G_SYSCALL  # the casgstatus that did not happen
        return nxt


class ExitsyscallNoCas(Runtime):
    """exitsyscallfast takes its old P back whatever its state."""

    def exitsyscallfast_takep(self, pp: P) -> bool:
        return True


class WakepLeaksNmspinning(Runtime):
    """wakep finds no idle P and keeps its nmspinning increment."""

    def wakep_unclaim(self) -> None:
        pass


class RetakeNoIncidlelocked(Runtime):
    """retake hands a P off without incidlelocked(-1)/(1) around it."""

    def retake_p(self, mp: M, pp: P) -> None:
        self.retake_syscall_p(pp)
        self.handoffp(mp, pp)


class StopmSkipsMput(Runtime):
    """stopm parks the M without mput: no startm finds it again."""

    def mput(self, mp: M) -> None:
        pass


class WakepNoCas(Runtime):
    """wakep adds one to nmspinning instead of its check and CAS from 0."""

    def wakep_claim(self) -> bool:
        self.sched.nmspinning.add(1)
        return True


class NoSpinLimit(Runtime):
    """Every M out of work spins."""

    def spinning_wanted(self) -> bool:
        return True


class GlobrunqgetNoSizeCap(Runtime):
    """globrunqgetbatch without the cap at the queue's size: popping more
    G's than there are is Go's nil G, here a throw."""

    def globrunqgetbatch(self, n: int) -> list[int]:
        size = len(self.sched.runq)
        if size == 0:
            return []
        n = min(n, size // len(self.allp) + 1)
        if n > size:
            raise Throw(THROW_QUEUE_UNDERFLOW, "globrunqget: nil G", void=True)
        return super().globrunqgetbatch(n)


# ---- liveness bugs -------------------------------------------------------------


class GoschedLocal(Runtime):
    """Gosched puts the G on its own P's ring, and still wakes an M."""

    @traced
    def gosched_m(self, mp: M) -> Next:
        nxt = self.goyield_m(mp)
        self.wakep(mp)
        return nxt


class NoSchedtickCheck(Runtime):
    """findRunnable without the schedtick%61 look at the global queue."""

    def globrunq_turn(self, pp: P) -> bool:
        return False


class RunnextNoInherit(Runtime):
    """execute starts a new time slice for a G from runnext too."""

    def execute(self, mp: M, g: int, inherit: bool) -> tuple:
        return super().execute(mp, g, False)


class SysmonNoRetake(Runtime):
    """sysmon never takes a P back from a system call."""

    def sysmon_work(self) -> list[int | None]:
        return [p for p in super().sysmon_work() if p is None]


class StartlockedmRunsItHere(Runtime):
    """schedule() runs a G locked to another M itself (no startlockedm)."""

    def lockedm(self, g: int) -> int | None:
        return None


# ---- benign variants -------------------------------------------------------------


class StealAll(Runtime):
    """runqgrab takes the victim's whole ring."""

    def runqgrab(self, p2: P) -> list[int]:
        claimed = p2.runq.claim(len(p2.runq))  # one CAS of runqhead, for all of it
        assert claimed is not None
        return claimed


class RingFour(Runtime):
    """Local run queues of capacity 4 (the configuration is the declaration's)."""
