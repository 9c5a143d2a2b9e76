"""The conformance search in several orders at once, taking turns by
expansions (checker/golang/search.py; docs/conformance.md, "The search").

Which order finds an execution's explanation soonest depends on the
execution: a hidden step that one order reaches at once, another finds
only by going back over hundreds of events. No order is best for all
(docs/conformance.md, "Performance"), so the check runs a few side by side,
each a complete search of its own, in turns of `SLICE` expansions, and the
first that finishes with a verdict gives it. Every order is exact (each
expands every node of every closure before it rejects a trace), so the
verdict is the one any of them would give; the turns are counted in
expansions, never in time, so the verdict, the order that gave it and the
expansions reported are the same on every run and every machine.

With `workers` above 1 the orders after the first run ahead in processes of
their own (one each, up to workers - 1), each reporting what it has done
after every turn; the turns are still taken in the same order, from those
reports, so the verdict, the order that gave it and the expansions counted
are the same as in one process, only sooner: on a machine with two cores
an execution that one order explains costs the wall time of that order
alone, not of both.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from checker.golang.prepare import BATCH, Prepared
from checker.golang.search import Result, Search
from checker.signals import STOP_SIGNALS, worker_init
from checker.verdict import Verdict


@dataclass(frozen=True)
class Order:
    """One order of the search (the attributes of Search of the same names)."""

    name: str
    previous_first: bool = True
    next_first: bool = False
    back_weight: float = 0
    stuck_resumes: int = 0
    netpoll_waits: bool = False


STUCK = 256  # the next-first order's Search.stuck_resumes

# The orders, in the order they take turns (and win a tie): the previous
# event's thread first, going back to a lower level at an earlier event
# rather than to a higher one at a later event (Search.back_weight); and
# the next event's thread free as well (a thread about to start a
# goroutine may have taken it from a runnext just before this event),
# depth first over events until it is stuck, then going back further and
# further (Search.stuck_resumes), with a thread blocked in netpoll left
# there until an event needs it out (Search.netpoll_waits).
ORDERS = (
    Order("previous-first", back_weight=64),
    Order("next-first", next_first=True, stuck_resumes=STUCK, netpoll_waits=True),
)

SLICE = 4_000  # expansions per turn

# Verdicts that end the check: a conforming order explains the trace; a
# rejecting one has exhausted every closure. LIMIT (a closure cut at
# --max-states) is not: another order may still explain the trace.
DECISIVE = (Verdict.CONFORMS, Verdict.PARTIAL, Verdict.FAILS)


class Portfolio:
    """The search in each of `orders`, in turns of `slice` expansions."""

    def __init__(
        self,
        prep: Prepared,
        max_states: int = 200_000,
        orders: tuple[Order, ...] = ORDERS,
        slice: int = SLICE,
        model_class: type | None = None,
    ):
        self.orders, self.slice = orders, slice
        self.members: list[Search] = []
        for order in orders:
            s = Search(prep, max_states=max_states, model_class=model_class)
            s.previous_first, s.next_first = order.previous_first, order.next_first
            s.back_weight, s.stuck_resumes = order.back_weight, order.stuck_resumes
            s.netpoll_waits = order.netpoll_waits
            if self.members:  # pure functions of a state: one cache for all
                s._alpha, s._canon = self.members[0]._alpha, self.members[0]._canon
            self.members.append(s)
        self.progress: Callable[[int, int], None] | None = None

    def run(self, batch: int = BATCH, workers: int = 1) -> tuple[Result, Search]:
        """The first verdict an order gives, and that order's search (for
        the states it describes); expansions and resumes are counted over
        every order, as of the turn that gave the verdict. `workers`: how
        many processes may search (the module's docstring)."""
        start = time.monotonic()
        shown = [-1]

        def progress(i: int, n: int) -> None:
            if self.progress is not None and i > shown[0]:
                shown[0] = i
                self.progress(i, n)

        away = max(0, min(workers, len(self.members)) - 1)
        turns: list[_Turns] = []
        try:
            for j, s in enumerate(self.members):
                if j and j <= away:
                    turns.append(_away_or_here(s, self.slice, batch))
                else:
                    turns.append(_Here(s, self.slice, batch))
            live = list(range(len(turns)))
            first: tuple[Result, Search, list[Turn]] | None = None
            while live:
                for j in list(live):
                    t = turns[j].turn()
                    if t.furthest >= 0:
                        progress(t.furthest, self.members[j].prep.end)
                    if not t.done:
                        continue
                    live.remove(j)
                    res = turns[j].result()
                    now = [tu.last for tu in turns]
                    if res.verdict in DECISIVE:
                        return self._total(res, j, now, start), self.members[j]
                    if first is None:
                        first = res, self.members[j], now
            assert first is not None
            res, s, now = first
            j = self.members.index(s)
            return self._total(res, j, now, start), s
        finally:
            for tu in turns:
                tu.close()

    def _total(self, res: Result, j: int, now: list[Turn], start: float) -> Result:
        """Order j's result with the work of every order counted (`now`:
        each order's last turn)."""
        res.elapsed = time.monotonic() - start
        res.expansions = sum(t.expansions for t in now)
        res.peak_closure = max(t.peak_closure for t in now)
        res.stats = dict(
            res.stats,
            order=self.orders[j].name,
            resumes=sum(t.resumes for t in now),
            orders={o.name: t.expansions for o, t in zip(self.orders, now, strict=True)},
        )
        return res


@dataclass(frozen=True)
class Turn:
    """What an order's search has done after a turn: finished (`done`),
    its counts, and the furthest trace event it reached (-1: none new)."""

    done: bool
    expansions: int
    resumes: int
    peak_closure: int
    furthest: int = -1


NOTHING = Turn(False, 0, 0, 0)


class _Turns:
    """One order's turns."""

    last: Turn = NOTHING

    def turn(self) -> Turn:
        raise NotImplementedError

    def result(self) -> Result:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Here(_Turns):
    """An order searched in this process, a turn at a time."""

    def __init__(self, s: Search, slice: int, batch: int):
        self.s, self.slice = s, slice
        self.furthest = -1
        s.progress = self._progress
        s.start(batch)

    def _progress(self, i: int, n: int) -> None:
        self.furthest = i

    def turn(self) -> Turn:
        s = self.s
        self.furthest = -1
        done = s.advance(s.expansions + self.slice)
        self.last = Turn(done, s.expansions, s.resumes, s.peak_closure, self.furthest)
        return self.last

    def result(self) -> Result:
        return self.s.result()


class _Away(_Turns):
    """An order searched in a process of its own (fork: it starts from
    this process's search as it is), running ahead of the turns and
    reporting each (`_search_away`). If the process dies, the order is
    searched here from the start, up to the turn reached: the same
    search, so the same turns."""

    def __init__(self, s: Search, slice: int, batch: int):
        self.s, self.slice, self.batch = s, slice, batch
        self.taken = 0  # turns reported and taken
        self.here: _Here | None = None
        self._result: Result | None = None
        ctx = multiprocessing.get_context("fork")
        self.conn, theirs = ctx.Pipe(duplex=False)
        args = (s, slice, batch, theirs, self.conn, os.getpid())
        self.proc = ctx.Process(target=_search_away, args=args, daemon=True)
        # The stop signals are the parent's (see checker.signals.start_pool).
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.proc.start()
        except OSError:
            self.conn.close()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            theirs.close()

    def turn(self) -> Turn:
        if self.here is None:
            try:
                t, self._result, gslot = self.conn.recv()
            except (EOFError, OSError):
                self._search_here()
            else:
                self.taken += 1
                if gslot is not None:
                    self.s.gslot = gslot  # the names it learned, for describe()
                self.last = t
                return t
        assert self.here is not None
        self.last = self.here.turn()
        return self.last

    def _search_here(self) -> None:
        """The process is gone: search here, up to the turns taken."""
        self.close()
        self.here = _Here(self.s, self.slice, self.batch)
        for _ in range(self.taken):
            self.here.turn()

    def result(self) -> Result:
        if self.here is not None:
            return self.here.result()
        assert self._result is not None
        return self._result

    def close(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def _away_or_here(s: Search, slice: int, batch: int) -> _Turns:
    """The order in a process of its own, or here if none can be started
    (a fork refused for want of memory or processes)."""
    try:
        return _Away(s, slice, batch)
    except OSError:
        return _Here(s, slice, batch)


def _search_away(s: Search, slice: int, batch: int, conn, ours, parent: int) -> None:
    """The search of one order in its own process: a report after every
    turn, and the result (with the goroutine names it learned) with the
    last. It ends when the search does, or when its parent has gone: a
    parent killed on a timeout never asks it to stop. (`ours`: the parent's
    end of the pipe, which the fork copied; closed here, so that a report
    to a parent gone fails at once rather than fill the pipe and wait.)"""
    worker_init()
    ours.close()
    turns = _Here(s, slice, batch)
    with contextlib.suppress(OSError, EOFError):
        while os.getppid() == parent:
            t = turns.turn()
            conn.send((t, turns.result(), s.gslot) if t.done else (t, None, None))
            if t.done:
                break
    conn.close()
