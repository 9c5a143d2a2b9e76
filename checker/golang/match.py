"""One trace event against the model's steps: which steps may explain it,
the rest of its group (the events one runtime step emits), and the
bindings an explained event updates (checker/golang/search.py)."""

from __future__ import annotations

from checker.golang.canon import CanonicalNodes, Node
from checker.golang.gotrace import Event
from checker.golang.prepare import GROUP_WINDOW, MAX_GROUP
from checker.golang.projection import TRACE_G, TRACE_P
from model.openworld import Expect
from model.state import NONE

# ---- matching events against steps --------------------------------------------------


def expect_for(ev: Event, slot: int) -> Expect:
    """The user and environment steps an event can be (model/openworld.py)."""
    if ev.resource == "P":
        if ev.frm == "Idle" and ev.to == "Running":
            return Expect(env=frozenset({"netpoll", "allocm"}))
        if ev.p != ev.id:  # ProcSteal: the P is taken by a thread that does not hold it
            return Expect(env=frozenset({"foreachp"}))
        return Expect()
    frm, to = ev.frm, ev.to
    if frm == "NotExist":
        return Expect(user=frozenset({"go-blocked" if to == "Waiting" else "go"}))
    if frm == "Running":
        if to == "Runnable":
            if ev.reason == "runtime.Gosched":
                return Expect(user=frozenset({"gosched"}))
            return Expect(user=frozenset({"preempt", "goyield"}), preempt=slot)
        if to == "Waiting":
            return Expect(user=frozenset({"park"}))
        if to == "Syscall":
            return Expect(user=frozenset({"syscall", "syscall-block"}))
        if to == "NotExist":
            return Expect(user=frozenset({"exit"}))
    if frm == "Waiting" and to == "Runnable":
        if ev.g >= 0:
            return Expect(user=frozenset({"ready"}), target=slot)
        if ev.p >= 0:
            return Expect(env=frozenset({"timer", "gcworker"}), target=slot)
        return Expect(env=frozenset({"inject"}), target=slot)
    if frm == "Runnable" and to == "Running":
        return Expect(limbo=slot)
    return Expect()


class EventMatching(CanonicalNodes):
    """The steps that explain one event from one node, with its group."""

    def _slot(self, ev: Event) -> int:
        if ev.resource == "G":
            return self.gslot.get(ev.id, NONE)
        return NONE

    def assertion(self, node: Node, ev: Event) -> Node | None:
        """A status event (Undetermined -> X, or X -> X): the node survives if its
        projection agrees, binding an M or P the event names for the first time."""
        t, mb, pb, ahead = node
        al = self.alpha(t)
        proj = self.proj
        x = self.mindex.get(ev.m, -1)
        if ev.resource == "G":
            g = self._slot(ev)
            if g == NONE:  # a status of a goroutine the trace never made
                return None
            st, m = al[proj.g_at(g)], al[proj.gm_at(g)]
            if st != TRACE_G[ev.to]:
                return None
            # (A G the projection shows running with no M, in a trace with an
            # event missing, binds nothing.)
            if st in (2, 3) and x >= 0 and m < self.model.L.nM:
                if mb[m] == -1:
                    if x in mb:
                        return None
                    mb = mb[:m] + (x,) + mb[m + 1 :]
                elif mb[m] != x:
                    return None
            return (t, mb, pb, ahead)
        want = TRACE_P[ev.to]
        if ev.id in pb:
            q = pb.index(ev.id)
            if al[proj.p_at(q)] != want:
                return None
            owner = al[proj.p_at(q) + 1]
            if want == 1 and x >= 0 and mb[owner] not in (-1, x):
                return None
            return (t, mb, pb, ahead)
        # A P the trace names for the first time has been idle since the start,
        # and unbound idle Ps are interchangeable: it is bound when first used.
        for q in range(self.prep.procs):
            if pb[q] == -1 and al[proj.p_at(q)] == want == 0:
                return node
        return None

    def _may_lock(self, i: int) -> bool:
        """May the G that event i stops be locked to its thread? Only if the
        thread's next events are what a locked M does: it hands its P off
        (ProcStop) and then either runs nothing but that G again (ProcStart,
        then the G's GoStart: startlockedm gave them back) or, when the G
        exits, is never seen again (mexit). Anything else the thread does
        rules the lock out."""
        events, end = self.prep.events, self.prep.end
        ev = events[i]
        if ev.resource != "G" or ev.frm != "Running" or ev.to == "Syscall":
            return False
        later = (
            e
            for e in events[i + 1 : end]
            if e.kind == "StateTransition" and e.m == ev.m and not e.is_status
        )
        stop = next(later, None)
        if stop is None:
            return True
        if not (stop.resource == "P" and stop.frm == "Running" and stop.to == "Idle"):
            return False
        while True:
            start = next(later, None)
            if start is None:
                return True
            if ev.to == "NotExist":
                return False  # mexit: the thread is gone
            if not (start.resource == "P" and start.frm == "Idle" and start.to == "Running"):
                return False
            run = next(later, None)
            if run is None:
                return True
            if run.resource == "P" and run.id == start.id and run.to == "Idle":
                continue  # its handoffp's startm made a thread: allocm borrowed the P
            if not (run.resource == "G" and run.id == ev.id and run.to == "Running"):
                return False
            # startlockedm hands over a G that was runnable already (readied
            # by another thread); a G this thread's own timer readies after
            # it took a P is not one.
            return ev.to == "Runnable" or any(
                e.kind == "StateTransition"
                and e.resource == "G"
                and e.id == ev.id
                and e.to == "Runnable"
                for e in events[i + 1 : start.index]
            )

    def _group(self, i: int) -> list[int]:
        """Later events of event i's thread that the same runtime step may
        also have emitted: the next transitions of the same M, up to
        MAX_GROUP in all, skipping events of other threads that touch none
        of them. One step changes the status of at most one goroutine, and
        never starts one and stops it again: a group names at most one G,
        and once it has that G enter Running it ends before the G leaves it
        (exitsyscall that steals its P back: ProcSteal, ProcStart,
        Syscall->Runnable, Runnable->Running; entersyscallblock: the
        syscall, then ProcStop)."""
        events, end = self.prep.events, self.prep.end
        ev = events[i]
        out: list[int] = []
        touched: set[tuple[str, int]] = set()
        g = ev.id if ev.resource == "G" else -1
        started = ev.resource == "G" and ev.to == "Running"
        for j in range(i + 1, min(end, i + GROUP_WINDOW)):
            e = events[j]
            if e.kind != "StateTransition":
                continue
            if e.m == ev.m and not e.is_status:
                if (e.resource, e.id) in touched:
                    break
                if e.resource == "G":
                    if g not in (-1, e.id) or (started and e.frm == "Running"):
                        break
                    g = e.id
                    started = started or e.to == "Running"
                out.append(j)
                if len(out) == MAX_GROUP - 1:
                    break
            else:
                touched.add((e.resource, e.id))
        return out

    def _apply(
        self, al: list[int], ev: Event, a: int, pb: list[int], changed_ps: list[int], newg: dict
    ) -> bool:
        """Apply one event to a projection (in model slots) as actor a would
        do it; False if the projection does not allow it."""
        proj = self.proj
        if ev.resource == "G":
            g = self.gslot.get(ev.id, newg.get(ev.id, NONE))
            if g == NONE:
                if ev.frm != "NotExist":
                    return False
                g = next((x for x in range(proj.nG) if al[x] == 0 and x != NONE), NONE)
                if g == NONE:
                    return False
                newg[ev.id] = g
            i = proj.g_at(g)
            if al[i] != TRACE_G[ev.frm]:
                return False
            to = TRACE_G[ev.to]
            al[i] = to
            al[proj.gm_at(g)] = a if to in (2, 3) else NONE
            return True
        if ev.id in pb:
            q = pb.index(ev.id)
        else:
            free = [q for q in changed_ps if pb[q] == -1]
            if not free:
                return False
            q = free[0]
            pb[q] = ev.id
        i = proj.p_at(q)
        if al[i] != TRACE_P[ev.frm]:
            return False
        to = TRACE_P[ev.to]
        al[i] = to
        al[i + 1] = a if to == 1 else NONE
        return True

    def _context_ok(self, al: tuple[int, ...], ev: Event, a: int, pb: tuple[int, ...]) -> bool:
        """The event's thread holds the event's P and runs the event's G."""
        proj = self.proj
        if ev.p >= 0 and ev.p in pb:
            q = pb.index(ev.p)
            if al[proj.p_at(q) + 1] != a:
                return False
        if ev.g >= 0:
            g = self.gslot.get(ev.g, NONE)
            if g == NONE or al[proj.gm_at(g)] != a:
                return False
        return True

    def match(
        self, node: Node, al_s: tuple[int, ...], a: int, u: bytes, i: int
    ) -> tuple[Node, dict] | None:
        """Is the step of actor a from node's state to u what event i (and
        perhaps later events of its thread) shows? The node reached, and the
        goroutine slots the events created."""
        t, mb, pb, ahead = node
        ev = self.prep.events[i]
        x = self.mindex.get(ev.m, -1)
        if x >= 0:
            if mb[a] != x and (mb[a] != -1 or x in mb):
                return None
        if not self._context_ok(al_s, ev, a, pb):
            return None
        al_u = self.alpha(u)
        proj = self.proj
        base = 2 * proj.nG
        changed_ps = [
            (k - base) // 2
            for k in range(base, len(al_s), 2)
            if al_s[k] != al_u[k] or al_s[k + 1] != al_u[k + 1]
        ]
        exp = list(al_s)
        pbl = list(pb)
        newg: dict[int, int] = {}
        if not self._apply(exp, ev, a, pbl, changed_ps, newg):
            return None
        consumed: list[int] = []
        if tuple(exp) != al_u:
            for j in self._group(i):
                if j in ahead:
                    break
                if not self._apply(exp, self.prep.events[j], a, pbl, changed_ps, newg):
                    return None
                consumed.append(j)
                if tuple(exp) == al_u:
                    break
            else:
                return None
            if tuple(exp) != al_u:
                return None
        if x >= 0 and mb[a] == -1:
            mb = mb[:a] + (x,) + mb[a + 1 :]
        if self.view(u)[self._pc_off[a]] in self._gone:
            mb = mb[:a] + (-1,) + mb[a + 1 :]
        u, pb = self.canon_p(u, tuple(pbl))
        u, mb = self.canon(u, mb)
        return (u, mb, pb, ahead.union(consumed) if consumed else ahead), newg
