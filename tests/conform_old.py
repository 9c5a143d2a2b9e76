"""The open world as it was before three fixes, for the tests that show a
recorded execution needs each fix (tests/test_conform.py): the model without
the fix must reject the execution the model with it explains."""

from __future__ import annotations

from dataclasses import replace

from model.go126 import Go126Model
from model.openworld import OpenWorld
from model.pcs import PC
from model.state import NONE


class NetpollAcquireInOneStep(OpenWorld):
    """findRunnable back from netpoll takes its P up (acquirep) in the step
    that takes it off the idle list (pidleget)."""

    def netpoll_returns(self, s, m, c):
        label = super().netpoll_returns(s, m, c)
        if s[self.L.pc[m]] == PC.NETPOLL_ACQUIRE:
            return label.chain(self.netpoll_acquirep(s, m, None))
        return label


class AtomicRunnextSteal(OpenWorld):
    """runqgrab reads the victim's runnext and takes it in one step, with no
    usleep(3) window between the read and the CAS."""

    def findRunnable_steal(self, s, m, victim):
        L = self.L
        p = s[L.m_p[m]]
        last = s[L.steal_pass[m]] == self.cfg.steal_tries - 1
        ring_empty = victim != NONE and self.runq_len(s, victim) == 0
        if last and ring_empty and not self.p_is_idle(s, victim):
            nxt = s[L.runnext[victim]]
            if nxt != NONE:
                s[L.mask[m]] |= 1 << victim
                s[L.runnext[victim]] = NONE
                return self.steal_got(s, m, p, victim, [nxt])
        return super().findRunnable_steal(s, m, victim)


class LastpollIgnored(OpenWorld):
    """handoffp's last-P rule as if no M ever blocked in netpoll: the last P
    is always given to startm."""

    def nobody_polling(self, t):
        return True


class LockedPutInOneStep(OpenWorld):
    """goschedImpl and exitsyscallNoP change the G's status and queue it under
    sched.lock in one step, as the closed world does."""

    def goschedImpl(self, s, m, g, why):
        return Go126Model.goschedImpl(self, s, m, g, why)

    def exitsyscall0(self, s, m, c):
        return Go126Model.exitsyscall0(self, s, m, c)


class NoLockedThreads(OpenWorld):
    """No goroutine is ever locked to its thread (LockOSThread)."""

    def run_choices(self, t, m):
        return [c for c in super().run_choices(t, m) if not c[0].endswith("+locked")]


class LastpollIgnoredNoLockedThreads(LastpollIgnored, NoLockedThreads, NetpollAcquireInOneStep):
    """The open world before the lastpoll fix and before locked threads and
    netpoll's return in two steps (which the retake program does not use,
    and which explain its run by another road: the other P taken off the
    idle list by an M that has not taken it up yet by the trace's end)."""


class NoStartTraceWakep(OpenWorld):
    """The trace starts with no wakep() pending: as if startTheWorldWithSema
    ended the tracer's stop-the-world without one."""

    def state_of(self, snap):
        return super().state_of(replace(snap, wakep=NONE))


OLD_MODELS = {
    "no-locked-threads": NoLockedThreads,
    "lastpoll-ignored-no-locked-threads": LastpollIgnoredNoLockedThreads,
    "atomic-runnext-steal": AtomicRunnextSteal,
    "lastpoll-ignored": LastpollIgnored,
    "locked-put-in-one-step": LockedPutInOneStep,
    "netpoll-acquire-in-one-step": NetpollAcquireInOneStep,
}
