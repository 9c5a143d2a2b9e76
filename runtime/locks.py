"""Step locks: what makes one step of the runtime atomic, as it is in the model.

Every piece of shared scheduler state belongs to one *unit* with a lock of
its own: `sched.lock` (the global run queue and the idle lists, as in Go),
one unit per atomic word that steps read without sched.lock
(`sched.nmspinning`, `sched.needspinning`, `sched.npidle`, the global
queue's size, `idlepMask`), one per semaphore, the G free list, and one per
P, per M and per G.

A step names the units it touches (its *plan*), takes their locks in rank
order (so two steps never deadlock), re-computes the plan under the locks
(the plan may depend on what it read before locking: the top of the idle
list, the waiter of a semaphore; if it changed, the step lets go and tries
again), runs, and only then lets go: strict two-phase locking. Two steps
that touch a common unit are therefore ordered, steps that do not run in
parallel, and the order in which steps take their sequence number while
holding their locks is an order in which they could have run one at a
time: a free run is a sequence of model steps (checker/replay/record.py).

Go's runtime has fewer locks: most of these steps are sequences of atomic
instructions there. The model treats each as one atomic step
(docs/model.md says why that loses no behaviour), and these locks make them
one for real, so that a recording can be checked step by step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

# Ranks: locks are always taken in increasing rank.
R_SCHED = 0
R_SEMA = 1  # + semaphore index
R_GFREE = 300
R_RUNQSIZE = 301
R_NPIDLE = 302
R_IDLEPMASK = 303
R_NMSPINNING = 304
R_NEEDSPINNING = 305
R_P = 400  # + P id
R_M = 500  # + M id (sysmon last)
R_G = 1000  # + G id


class Unit:
    """One lockable piece of the runtime's state.

    `span` is where the unit's fields live in the model's state vector
    (start, end) and `encode` writes them there: a recording logs, after
    each step, the encoding of every unit the step held. `state` is the
    object that holds the fields, with `save()` and `restore(saved)`: a
    step that throws a queue overflow is undone (runtime/machine.py)."""

    __slots__ = ("rank", "name", "mu", "span", "encode", "state")

    def __init__(
        self,
        rank: int,
        name: str,
        span: tuple[int, int] | None = None,
        encode: Callable[[list[int]], None] | None = None,
    ):
        self.rank = rank
        self.name = name
        self.mu = threading.Lock()
        self.span = span
        self.encode = encode
        self.state: Any = None

    def __repr__(self) -> str:
        return f"<{self.name}>"


def lock_all(units: Iterable[Unit]) -> list[Unit]:
    """Take the units' locks in rank order; return them in that order."""
    ordered = sorted(set(units), key=_rank)
    for u in ordered:
        u.mu.acquire()
    return ordered


def try_lock_all(units: Iterable[Unit], timeout: float) -> list[Unit] | None:
    """lock_all, giving up (and holding nothing) if a lock is not free in time."""
    ordered = sorted(set(units), key=_rank)
    held: list[Unit] = []
    for u in ordered:
        if not u.mu.acquire(timeout=timeout):
            unlock_all(held)
            return None
        held.append(u)
    return held


def unlock_all(ordered: list[Unit]) -> None:
    for u in reversed(ordered):
        u.mu.release()


def _rank(u: Unit) -> int:
    return u.rank
