"""The mutations of model/mutations.py, on the runtime: the same bug in the
same step, so that a counterexample the checker found replays on real
threads (checker/replay/replay.py). Each class overrides the runtime's method of
the same name as its model twin; `RUNTIME_MUTATIONS` has an entry for every
mutation in the model's registry (tests check it).
"""

from __future__ import annotations

from model.pcs import PC
from model.state import G_SYSCALL, P_SYSCALL, QueueUnderflow
from runtime.scheduler import Runtime

# ---- bugs -----------------------------------------------------------------------


class RecheckBeforeDecrement(Runtime):
    """The spinning M re-checks the run queues before it decrements nmspinning."""

    mutation_name = "recheck-before-decrement"

    def findRunnable_drop(self, m, c):
        label = super().findRunnable_drop(m, c)
        mp = self.allm[m]
        if mp.pc == PC.FR_SPIN_DOWN:
            mp.pc = PC.FR_RECHECK_GLOBAL  # re-check while still counted
        return label

    def findRunnable_spin_down(self, m, c):
        label = super().findRunnable_spin_down(m, c)
        mp = self.allm[m]
        if mp.pc == PC.FR_RECHECK_GLOBAL:
            mp.pc = PC.STOPM  # the re-checks are already done
        return label

    def _then_spin_down(self, m):
        mp = self.allm[m]
        if mp.pc == PC.STOPM and mp.spinning:
            mp.pc = PC.FR_SPIN_DOWN

    def findRunnable_recheck_runqs(self, m, p):
        label = super().findRunnable_recheck_runqs(m, p)
        self._then_spin_down(m)
        return label

    def findRunnable_recheck_pidle(self, m, c):
        label = super().findRunnable_recheck_pidle(m, c)
        self._then_spin_down(m)
        return label

    def becomeSpinning(self, m):
        if not self.allm[m].spinning:  # found work while still spinning: already counted
            super().becomeSpinning(m)


class NoNeedspinning(Runtime):
    """pidlegetSpinning without `sched.needspinning = 1` (golang/go#45867)."""

    mutation_name = "no-needspinning"

    def pidlegetSpinning(self):
        return self.pidleget()


class ResetspinningNoWakep(Runtime):
    """resetspinning without its wakep()."""

    mutation_name = "resetspinning-no-wakep"

    def schedule_execute(self, m, c):
        mp = self.allm[m]
        if mp.spinning:
            mp.spinning = 0
            if not self.nmspinning_dec(m):
                return f"resetspinning(m={m}) throws"
            mp.pc = PC.EXEC
            return f"resetspinning(m={m}, no wakep)"
        return super().schedule_execute(m, c)


class StealNotAtomic(Runtime):
    """runqgrab copies half of the victim's ring without the CAS of runqhead
    that would claim it: the victim still has the G's the thief took."""

    mutation_name = "steal-not-atomic"

    def runqgrab(self, victim):
        ring = self.allp[victim].runq.items()
        n = len(ring) - len(ring) // 2
        return ring[:n]


class ExitsyscallDropsG(Runtime):
    """exitsyscall0 finds no idle P and forgets globrunqput(gp)."""

    mutation_name = "exitsyscall-drops-g"

    def exitsyscall0(self, m, c):
        g = self.allm[m].curg
        label = super().exitsyscall0(m, c)
        if self.allm[m].pc == PC.STOPM:  # no idle P: the G went to the global queue...
            self.sched.runq.remove(g)  # ...and here it does not
            self.sched.runqsize.add(-1)
            label += " (the G is not queued)"
        return label


class HandoffpIgnoresGlobalQueue(Runtime):
    """handoffp looks only at the P's own run queue (the golang/go#13645 class)."""

    mutation_name = "handoffp-ignores-global-queue"

    def handoffp(self, a, c):
        mp = self.allm[a]
        p = mp.pp
        if not self.runqempty(p):
            mp.spin_arg = 0
            mp.pc = PC.STARTM
            return f"handoffp({self.who(a)}, p={p}, work)"
        mp.pc = PC.HANDOFFP_SPIN
        return f"handoffp({self.who(a)}, p={p}, no local work)"

    def handoffp_lock(self, a, c):
        mp = self.allm[a]
        p = mp.pp
        if self.npidle() == len(self.allp) - 1:
            mp.spin_arg = 0
            mp.pc = PC.STARTM
            return f"handoffp.lock({self.who(a)}, p={p}, last P)"
        self.pidleput(p)
        mp.pp = None
        self.ret(a)
        return f"handoffp.pidleput({self.who(a)}, p={p})"


class Exitsyscall0SkipsCasgstatus(Runtime):
    """exitsyscall0 queues the G still _Gsyscall."""

    mutation_name = "exitsyscall0-skips-casgstatus"

    def exitsyscall0(self, m, c):
        g = self.allm[m].curg
        label = super().exitsyscall0(m, c)
        self.allg[g].status = G_SYSCALL  # the status change that did not happen
        return label + " (still _Gsyscall)"


class ExitsyscallNoCas(Runtime):
    """exitsyscallfast re-wires its old P without the CAS out of _Psyscall."""

    mutation_name = "exitsyscall-no-cas"

    def exitsyscall(self, m, c):
        oldp = self.allm[m].oldp
        if oldp is not None and self.allp[oldp].status.load() != P_SYSCALL:
            self.allp[oldp].status.store(P_SYSCALL)  # it takes the P whatever its state
        return super().exitsyscall(m, c)


class WakepLeaksNmspinning(Runtime):
    """wakep finds no idle P and keeps its nmspinning increment."""

    mutation_name = "wakep-leaks-nmspinning"

    def nmspinning_dec(self, a):
        if self.allm[a].pc == PC.WAKEP_PIDLE:
            return True  # the forgotten nmspinning.Add(-1)
        return super().nmspinning_dec(a)


class RetakeNoIncidlelocked(Runtime):
    """retake hands off a P without incidlelocked(-1)/(1): checkdead does not
    count sysmon as running meanwhile."""

    mutation_name = "retake-no-incidlelocked"

    def incidlelocked(self, v):
        pass


class StopmSkipsMput(Runtime):
    """stopm parks the M without mput: no startm will find it."""

    mutation_name = "stopm-skips-mput"

    def stopm(self, m, c):
        self.allm[m].pc = PC.PARKED
        return f"stopm(m={m}) (not on sched.midle)"


class WakepNoCas(Runtime):
    """wakep adds one to nmspinning instead of its check and CAS from 0."""

    mutation_name = "wakep-no-cas"

    def wakep_cas(self, a, c):
        self.sched.nmspinning.add(1)
        self.allm[a].pc = PC.WAKEP_PIDLE
        return f"wakep.add(m={a})"


class NoSpinLimit(Runtime):
    """findRunnable lets every M out of work spin."""

    mutation_name = "no-spin-limit"

    def findRunnable_steal_check(self, m, c):
        self.allm[m].pc = PC.FR_BECOME_SPINNING
        return f"findRunnable.spin-limit(m={m}, steal)"


class GlobrunqgetNoSizeCap(Runtime):
    """globrunqgetbatch without the cap at the queue's size: popping more G's
    than there are is Go's nil G, here a throw on the state before the step
    (the state is saved for it: may_overflow)."""

    mutation_name = "globrunqget-no-size-cap"

    def globrunqgetbatch(self, n):
        size = len(self.sched.runq)
        if size == 0:
            return []
        n = min(n, size // len(self.allp) + 1)
        if n > size:
            raise QueueUnderflow
        return super().globrunqgetbatch(n)

    def may_overflow(self, a, held):
        return True


# ---- liveness bugs -------------------------------------------------------------


class GoschedLocal(Runtime):
    """Gosched puts the G on its own P's ring (as goyield does) instead of
    the global queue, and still wakes an M."""

    mutation_name = "gosched-local"

    def goschedImpl(self, m, g, why):
        if why != "Gosched":
            return super().goschedImpl(m, g, why)
        label = self.goyield_m(m, g)
        self.call(m, PC.WAKEP_CAS, PC.SCHEDULE)  # Gosched still wakes an M
        return label.replace("goyield", "Gosched.local")


class NoSchedtickCheck(Runtime):
    """findRunnable without the schedtick%61 look at the global queue."""

    mutation_name = "no-schedtick-check"

    def plan_schedule(self, m, c):
        return self.plan_own_p(m, c)  # it never takes sched.lock here

    def schedule(self, m, c):
        return self.findRunnable_runqget(m, None)


class RunnextNoInherit(Runtime):
    """execute advances schedtick for a G taken from runnext too."""

    mutation_name = "runnext-no-inherit"

    def execute(self, m, c):
        self.allm[m].inherit = 0
        return super().execute(m, c)


class SysmonNoRetake(Runtime):
    """sysmon never takes a P back from a system call."""

    mutation_name = "sysmon-no-retake"

    def sysmon_choices(self, a):
        return [c for c in super().sysmon_choices(a) if c is None]


class StartlockedmRunsItHere(Runtime):
    """schedule() runs a G locked to another M itself instead of handing it
    over with startlockedm."""

    mutation_name = "startlockedm-runs-it-here"

    def lockedm(self, g):
        return None


# ---- benign variants -------------------------------------------------------------


class StealAll(Runtime):
    """runqgrab takes the victim's whole ring instead of half."""

    mutation_name = "steal-all"

    def runqgrab(self, victim):
        q = self.allp[victim].runq
        n = len(q)
        if n == 0:
            return []
        claimed = q.claim(n)  # one CAS of runqhead, for all of it
        assert claimed is not None
        return claimed


class RingFour(Runtime):
    """Local run queues of capacity 4 (the configuration comes from the
    model's registry entry)."""

    mutation_name = "ring-4"


RUNTIME_MUTATIONS: dict[str, type[Runtime]] = {
    k.mutation_name: k
    for k in [
        RecheckBeforeDecrement,
        NoNeedspinning,
        ResetspinningNoWakep,
        StealNotAtomic,
        ExitsyscallDropsG,
        HandoffpIgnoresGlobalQueue,
        Exitsyscall0SkipsCasgstatus,
        ExitsyscallNoCas,
        WakepLeaksNmspinning,
        RetakeNoIncidlelocked,
        StopmSkipsMput,
        WakepNoCas,
        NoSpinLimit,
        GlobrunqgetNoSizeCap,
        StartlockedmRunsItHere,
        GoschedLocal,
        NoSchedtickCheck,
        RunnextNoInherit,
        SysmonNoRetake,
        StealAll,
        RingFour,
    ]
}
