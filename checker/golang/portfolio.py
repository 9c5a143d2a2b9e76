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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from checker.golang.prepare import BATCH, Prepared
from checker.golang.search import Result, Search
from checker.verdict import Verdict


@dataclass(frozen=True)
class Order:
    """One order of the search (the attributes of Search of the same names)."""

    name: str
    previous_first: bool = True
    next_first: bool = False
    back_weight: float = 0
    stuck_resumes: int = 0


STUCK = 256  # the next-first order's Search.stuck_resumes

# The orders, in the order they take turns (and win a tie): the previous
# event's thread first, going back to a lower level at an earlier event
# rather than to a higher one at a later event (Search.back_weight); and
# the next event's thread free as well (a thread about to start a
# goroutine may have taken it from a runnext just before this event),
# depth first over events until it is stuck, then going back further and
# further (Search.stuck_resumes).
ORDERS = (
    Order("previous-first", back_weight=64),
    Order("next-first", next_first=True, stuck_resumes=STUCK),
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
            if self.members:  # pure functions of a state: one cache for all
                s._alpha, s._canon = self.members[0]._alpha, self.members[0]._canon
            self.members.append(s)
        self.progress: Callable[[int, int], None] | None = None

    def run(self, batch: int = BATCH) -> tuple[Result, Search]:
        """The first verdict an order gives, and that order's search (for
        the states it describes); expansions and resumes are counted over
        every order."""
        start = time.monotonic()
        shown = [-1]

        def progress(i: int, n: int) -> None:
            if self.progress is not None and i > shown[0]:
                shown[0] = i
                self.progress(i, n)

        for s in self.members:
            s.progress = progress
            s.start(batch)
        live = list(range(len(self.members)))
        first: tuple[Result, Search] | None = None
        while live:
            for j in list(live):
                s = self.members[j]
                if not s.advance(s.expansions + self.slice):
                    continue
                live.remove(j)
                res = s.result()
                if res.verdict in DECISIVE:
                    return self._total(res, s, j, start), s
                if first is None:
                    first = res, s
        assert first is not None
        res, s = first
        return self._total(res, s, self.members.index(s), start), s

    def _total(self, res: Result, winner: Search, j: int, start: float) -> Result:
        """The winner's result with the work of every order counted."""
        res.elapsed = time.monotonic() - start
        res.expansions = sum(s.expansions for s in self.members)
        res.peak_closure = max(s.peak_closure for s in self.members)
        res.stats = dict(
            res.stats,
            order=self.orders[j].name,
            resumes=sum(s.resumes for s in self.members),
            orders={o.name: s.expansions for o, s in zip(self.orders, self.members, strict=True)},
        )
        return res
