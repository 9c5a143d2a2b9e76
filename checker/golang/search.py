"""The conformance search over a trace's events: each event's closure under
unobserved steps, the nodes that reach the next event, the first event no
node explains, and the states described in the trace's names."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace

from checker.golang.canon import Node
from checker.golang.describe import Describing
from checker.golang.gotrace import Event
from checker.golang.match import EventMatching, expect_for
from checker.golang.prepare import BATCH
from checker.verdict import Verdict
from model.openworld import Expect
from model.pcs import PC

PREVIOUS_MOVING, NEXT_MOVING, OWN_MOVING = 1, 2, 3  # _EventSearch.phase

# Where a thread waits for the world rather than runs (Search.netpoll_waits):
# blocked in netpoll(delay) until I/O is ready or a timer is due.
WAITS = frozenset({int(PC.NETPOLL)})


@dataclass
class _EventSearch:
    """One event's part of the search: every node seen before it (those that
    reached it, level 0, and its closure, with their levels), and the ones
    not expanded yet, by level, each level in the order it is taken."""

    seen: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)  # level -> deque of nodes
    low: int = 0  # no node left below this level
    left: int = 0  # nodes left to expand
    # Who has moved on the way to a node (absent: nobody yet), for the
    # order of its steps (Search._expand): PREVIOUS_MOVING, NEXT_MOVING,
    # OWN_MOVING, in the order the free runs follow each other.
    phase: dict = field(default_factory=dict)
    expect: Expect | None = None
    arrived: int = 0
    truncated: bool = False

    def head(self) -> int:
        """The lowest level with nodes left (when some are)."""
        levels = self.levels
        while self.left and not levels.get(self.low):
            self.low += 1
        return self.low

    def queue(self, level: int) -> deque:
        q = self.levels.get(level)
        if q is None:
            q = self.levels[level] = deque()
        return q


@dataclass
class Failure:
    event: Event
    index: int  # among the checked events
    before: list[Node]  # the closure: states possible just before the event
    truncated: bool  # the closure was cut at --max-states


@dataclass
class Result:
    verdict: Verdict  # CONFORMS, FAILS, PARTIAL or LIMIT
    checked: int  # events checked
    transitions: int  # state-transition events among them
    elapsed: float
    failure: Failure | None = None
    reason: str = ""
    peak_frontier: int = 0
    peak_closure: int = 0
    expansions: int = 0
    stats: dict = field(default_factory=dict)


class Search(Describing, EventMatching):
    """The search over the trace's events (the module's docstring in
    checker/golang/conform.py): run() gives the verdict."""

    # Within an event's closure, the event thread's own unobserved steps
    # first, the other actors' in order of how many they take (False:
    # breadth first over every actor's steps alike).
    lazy_others = True

    # With lazy_others, the order within a closure: free are the event
    # thread's own unobserved steps and, before those, the previous event's
    # thread's. A thread goes on at once after its event (one that parked
    # its goroutine goes straight into findRunnable, steals, reads a
    # victim's runnext), so the search first lets it run, then the event's
    # thread from where the previous one stopped or came to rest, and the
    # others only as far as the event needs. Once the event's thread has
    # moved, the previous thread's steps cost one like any other's; while
    # the previous thread can still move, the event thread's steps cost
    # one. Only the order changes: every node of the closure is still
    # expanded before the search gives up on it. (False: the previous
    # thread is one of the others.)
    previous_first = True

    # With previous_first, the thread of the event after this one runs free
    # too, after the previous thread and before the event's thread: one
    # that is about to start a goroutine may have taken it from a victim's
    # runnext just before this event, which needs that runnext empty. Again
    # only an order (one of the orders of checker/golang/portfolio.py).
    next_first = False

    # How many events further back the search goes, for each level less
    # (Search._next_event). 0: depth first over events, each closure
    # exhausted before the search goes back to an earlier one. With a
    # weight, it goes back to an earlier event whose closure has nodes
    # left at a lower level rather than into the next level of a later
    # one: the explanations found need few steps of other threads at any
    # one event, and a wrong choice many events back costs the closures
    # in between up to that level, not every node of them.
    back_weight: float = 0

    # Going back further while stuck (0: never). After this many resumes
    # without the search getting past its furthest event, it goes back by
    # levels (as with `back_weight`) with a weight of `stuck_weight`,
    # doubled every as many resumes more, and back to `back_weight` once
    # an event further on is reached. Depth first over events, a wrong
    # choice made dozens of events back costs every alternative of every
    # event in between, each tried and rejected again at the same event;
    # the weight takes the search to the lower levels of the earlier events
    # first. Only the order changes, as with `back_weight`.
    stuck_resumes = 0
    stuck_weight: float = 64

    # A thread blocked in netpoll waits there (True), or runs on (False).
    # With previous_first, the previous event's thread runs free until it
    # comes to rest; one that gave its P up and blocked in netpoll(delay)
    # would run on out of it at once, back with an idle P, though what
    # ends that wait is the world's doing (I/O, a timer), often thousands
    # of events later. With this, leaving netpoll costs a level but for the
    # event's own thread: a search that took the early return far back
    # finds the right node only after every alternative in between
    # (bigwrite.go 4 in traces/bigwrite-netpollwait-p4: 15,627 expansions
    # against more than 200,000). Again only an order.
    netpoll_waits = False

    # -- the search over events ----------------------------------------------------

    def _expand(
        self, ev_i: int, want: int, last: float = float("inf"), until: float = float("inf")
    ) -> int:
        """Go on with event ev_i's closure until `want` new nodes have
        reached the next event, or the closure is exhausted, or its next
        level is past `last`; or, before any of those, until the search has
        made `until` expansions in all (self._cut: the call is to be
        continued, as if never cut). Returns how many arrived. The closure
        is explored level by level; a node's level is how many of the
        unobserved steps on the way to it were not free (the order, and why
        it loses nothing: `previous_first` above)."""
        st = self._ev[ev_i]
        i = self._trans[ev_i]
        model = self.model
        model.expect = self._expect(ev_i)
        nxt = self._ev[ev_i + 1]
        seen, phase = st.seen, st.phase
        pc_off, view, gone, alpha = self._pc_off, self.view, self._gone, self.alpha
        waits = WAITS if self.netpoll_waits else ()
        x, y, z = self._free_threads(ev_i)
        arrived = 0
        self._cut = False
        while st.left:
            level = st.head()
            if level > last or arrived >= want:
                break
            if self.expansions >= until:
                self._cut = True
                break
            todo = st.levels[level]
            node = todo.popleft()
            st.left -= 1
            t, mb, pb, ahead = node
            if i in ahead:  # a step matched it already, with an earlier event
                arrived += self._arrive(nxt, (t, mb, pb, ahead - {i}), 0)
                continue
            al_s = alpha(t)
            succ = model.successors(t)[0]
            self.expansions += 1
            # The Ms that may be the event's thread: the one bound to it, or
            # every unbound M when none is; the previous event's thread if
            # it is another, bound one.
            own = -1 if x < 0 or x not in mb else x
            prev = y if y >= 0 and y != own and y in mb else -2
            after = z if z >= 0 and z != own and z != prev and z in mb else -2
            ph = phase.get(node, 0)
            vt = view(t) if waits else t  # (only read against `waits`)
            rest = self._at_rest(ph, prev, after, mb, succ, al_s, vt, waits)
            for a, _label, u in succ:
                if alpha(u) == al_s:
                    nmb = mb
                    if mb[a] != -1 and view(u)[pc_off[a]] in gone:
                        nmb = mb[:a] + (-1,) + mb[a + 1 :]
                    cu, cmb = self.canon(u, nmb)
                    n = (cu, cmb, pb, ahead)
                    if n not in seen:
                        if len(seen) >= self.max_states:
                            st.truncated = True
                            continue
                        waiting = bool(waits) and vt[pc_off[a]] in waits
                        cost, nph = self._cost(a, mb[a], own, prev, after, ph, rest, waiting)
                        if nph:
                            phase[n] = nph
                        st.left += 1
                        if cost:
                            seen[n] = level + 1
                            st.queue(level + 1).append(n)
                        else:
                            seen[n] = level
                            todo.appendleft(n)
                    continue
                got = self.match(node, al_s, a, u, i)
                if got is not None:
                    self.gslot.update(got[1])
                    arrived += self._arrive(nxt, got[0], level)
        self.peak_closure = max(self.peak_closure, len(seen))
        return arrived

    def _free_threads(self, ev_i: int) -> tuple[int, int, int]:
        """The trace threads (their indices) whose unobserved steps may be
        free in event ev_i's closure: the event's, the previous event's,
        the next event's (-1: none, or not in this order)."""
        x = self._thread_of(ev_i)
        if not self.lazy_others:
            return x, -1, -1
        y = self._thread_of(ev_i - 1) if self.previous_first else -1
        z = self._thread_of(ev_i + 1) if self.previous_first and self.next_first else -1
        return x, y, z

    def _at_rest(self, ph, prev, after, mb, succ, al_s, vt, waits) -> bool:
        """Can the thread running free in phase ph (the previous or the
        next event's) move no more? Then the next one's steps (the event
        thread's, or the next event's) are free. Leaving a wait (`waits`,
        Search.netpoll_waits) is not a move of its own."""
        if ph not in (PREVIOUS_MOVING, NEXT_MOVING):
            return True
        mover = prev if ph == PREVIOUS_MOVING else after
        alpha, pc_off = self.alpha, self._pc_off
        return not any(
            mb[a] == mover and alpha(u) == al_s and vt[pc_off[a]] not in waits for a, _l, u in succ
        )

    def _cost(
        self,
        a: int,
        thread: int,
        own: int,
        prev: int,
        after: int,
        ph: int,
        rest: bool,
        waiting: bool = False,
    ) -> tuple[int, int]:
        """The cost of actor a's unobserved step (0: free, 1: one level
        more; `thread`: the one a is bound to) and the phase of the node
        it reaches, from a node in phase ph (`rest`: the thread running
        free there cannot move any more; `waiting`: the step leaves a
        wait, the world's doing, free only for the event's own thread)."""
        if not self.lazy_others or a == self.SYSMON or (waiting and thread != own):
            return 1, ph
        if thread == own:
            return (0 if rest else 1), OWN_MOVING
        if thread == prev and ph <= PREVIOUS_MOVING:
            return 0, PREVIOUS_MOVING
        if thread == after and (ph == NEXT_MOVING or (ph < NEXT_MOVING and rest)):
            return 0, NEXT_MOVING
        return 1, ph

    def _expect(self, ev_i: int) -> Expect:
        """The steps event ev_i may be (match.expect_for), computed once."""
        st = self._ev[ev_i]
        if st.expect is None:
            i = self._trans[ev_i]
            ev = self.prep.events[i]
            st.expect = expect_for(ev, self._slot(ev))
            if self._may_lock(i):
                st.expect = replace(st.expect, locked=True)
        return st.expect

    def _thread_of(self, ev_i: int) -> int:
        """The trace thread (its index) of event ev_i, -1 if none."""
        if not 0 <= ev_i < len(self._trans):
            return -1
        return self.mindex.get(self.prep.events[self._trans[ev_i]].m, -1)

    def _arrive(self, st: _EventSearch, node: Node, depth: int) -> int:
        """A node reaches the next event: queued there unless it already was."""
        if node in st.seen:
            return 0
        st.seen[node] = 0
        st.queue(0).append(node)
        st.low, st.left = 0, st.left + 1
        st.arrived += 1
        return 1

    def _assert_status(self, ev_i: int) -> None:
        """A status event (Undetermined -> X, or X -> X) keeps the nodes its projection
        allows (binding the M or P it names) and passes them on."""
        st, nxt = self._ev[ev_i], self._ev[ev_i + 1]
        ev = self.prep.events[self._trans[ev_i]]
        while st.left:
            node = st.levels[st.head()].popleft()
            st.left -= 1
            got = self.assertion(node, ev)
            if got is not None:
                self._arrive(nxt, got, 0)

    def run(self, batch: int = BATCH) -> Result:
        """The search, event by event, depth first over events and level
        by level within one (_expand): each event's closure is explored only until
        `batch` nodes have reached the next event, and the search moves on
        with those. When an event cannot be explained from what reached it,
        the search goes back to the latest earlier event whose closure is
        not exhausted and resumes it there (never from the start). Nothing
        is pruned: only when every closure is exhausted is the trace
        rejected, at the furthest event reached, so a rejection is the exact
        search's."""
        self.start(batch)
        self.advance()
        return self.result()

    def start(self, batch: int = BATCH) -> None:
        """The search before its first event (run() is start(), advance()
        until done, result(); checker/golang/portfolio.py takes turns)."""
        prep = self.prep
        self._started = time.monotonic()
        self._batch = batch
        self.expansions = 0
        self.peak_closure = 0
        self.gslot = dict(prep.gslot)
        self._trans = [i for i in range(prep.end) if prep.events[i].kind == "StateTransition"]
        n = len(self._trans)
        self._ev = [_EventSearch() for _ in range(n + 1)]
        for node in self.initial():
            self._arrive(self._ev[0], node, 0)
        self._k = 0  # the event being explained
        self._furthest = 0
        self._exhausted = False  # every closure explored, the next event unexplained
        self._hi = 0  # no event after it has nodes left
        self._pending: tuple[int, float] | None = None  # a cut _expand: (want, last)
        self._cut = False
        self.resumes = 0
        self._stuck = 0  # resumes since the furthest event grew

    def advance(self, until: float = float("inf")) -> bool:
        """Go on until the search is done (True) or has made `until`
        expansions in all (False: advance() again to go on)."""
        n, k, events = len(self._trans), self._k, self.prep.events
        while k < n and not self._exhausted and self.expansions < until:
            if self.progress is not None and k > self._furthest and not k & 255:
                self.progress(self._trans[k], self.prep.end)
            if k > self._furthest:
                self._furthest, self._stuck = k, 0
            if events[self._trans[k]].is_status:
                self._assert_status(k)
            else:
                # A turn may end inside a closure: the call goes on where it
                # stopped, with what it still wants, up to the same level.
                if self._pending is None:
                    last = self._ev[k].head() if self._weight() else float("inf")
                    self._pending = (self._batch, last)
                want, last = self._pending
                got = self._expand(k, want, last, until)
                if self._cut:
                    self._pending = (want - got, last)
                    break
                self._pending = None
            nk = self._next_event(k)
            if nk < 0:
                self._exhausted = True
                break
            if nk <= k:  # nothing reached the next event (this time)
                self.resumes += 1
                self._stuck += 1
            k = nk
        self._k = k
        return k >= n or self._exhausted

    def _next_event(self, k: int) -> int:
        """The event to go on with after event k (-1: every closure is
        exhausted): the one with nodes left whose lowest level, weighed
        by `back_weight` events a level, is furthest on; the later of
        two alike. With no weight, the next event if a node reached it,
        else the latest one with nodes left: depth first over events."""
        w, ev = self._weight(), self._ev
        hi = max(self._hi, k + 1)
        while hi >= 0 and not ev[hi].left:
            hi -= 1
        self._hi = hi
        best, score = -1, float("-inf")
        for j in range(hi, -1, -1):
            if j <= score:  # no event before j scores more than j
                break
            if ev[j].left:
                sc = j - w * ev[j].head()
                if sc > score:
                    best, score = j, sc
        return best

    def _weight(self) -> float:
        """The weight of a level in events (_next_event) now: `back_weight`,
        or more once the search has gone back `stuck_resumes` times without
        getting past its furthest event."""
        n = self.stuck_resumes
        if not n or self._stuck < n:
            return self.back_weight
        # (past 2**20 the weight orders every lower level first anyway)
        return max(self.back_weight, self.stuck_weight * 2 ** min(self._stuck // n - 1, 20))

    def result(self) -> Result:
        """The verdict of a search advance() has finished."""
        prep, start, k, furthest = self.prep, self._started, self._k, self._furthest
        n = len(self._trans)
        transitions = furthest + 1 if k < n else n
        peak = max((e.arrived for e in self._ev), default=0)
        if k >= n:
            verdict = Verdict.PARTIAL if prep.end_reason else Verdict.CONFORMS
            res = Result(verdict, prep.end, n, time.monotonic() - start, peak_frontier=peak)
            res.reason = prep.end_reason
        else:
            i = self._trans[furthest]
            before = list(self._ev[furthest].seen)
            truncated = [j for j in range(furthest + 1) if self._ev[j].truncated]
            verdict = Verdict.LIMIT if truncated else Verdict.FAILS
            res = self._result(verdict, i, start, transitions, peak, before, bool(truncated))
            if truncated:
                at = prep.events[self._trans[truncated[0]]]
                res.reason = (
                    f"more than {self.max_states:,} states before one event (line {at.line})"
                )
        res.peak_closure, res.expansions = self.peak_closure, self.expansions
        res.stats = {"resumes": self.resumes, "batch": self._batch}
        return res

    def check(self) -> Result:
        return self.run()

    def _result(self, verdict, i, start, transitions, peak, before, truncated=False) -> Result:
        ev = self.prep.events[i]
        res = Result(verdict, i, transitions, time.monotonic() - start, peak_frontier=peak)
        res.failure = Failure(ev, i, before, truncated)
        res.peak_closure, res.expansions = self.peak_closure, self.expansions
        return res
