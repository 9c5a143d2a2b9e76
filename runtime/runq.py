"""A P's local run queue: `runnext` and a ring between `runqhead` and `runqtail`.

The algorithm is proc.go's (runqput, runqputslow, runqget, runqgrab,
runqsteal, runqputbatch, runqempty): only the owner P puts, at the tail,
storing the slot before it publishes the new tail; anyone takes from the
head by CASing runqhead forward, so a thief claims a whole batch with one
CAS; runnext is a word of its own, changed by CAS. head and tail only grow;
slot i is `ring[i % size]`. Every word is an `Atomic`, so the queue is
lock-free in the same sense as Go's and tests/test_runtime_runq.py runs
Go's own queue tests against it from several threads.

The scheduler's steps (runtime/queues.py) call these under the P's step
lock, where no CAS ever fails; the retry loops matter to the lock-free
users and to the queue tests.
"""

from __future__ import annotations

from runtime.atomic import Atomic


class RunQueueOverflow(RuntimeError):
    """runqputbatch or runqsteal found no room: Go throws ("runqsteal: runq overflow")."""


class RunQueue:
    def __init__(self, size: int, atomic: type[Atomic] = Atomic):
        # `atomic`: the tests pass a kind that yields the CPU at every access,
        # to make the races between the accesses happen.
        self.size = size
        self.ring: list[int | None] = [None] * size
        self.head = atomic(0)  # runqhead: advanced by CAS, by anyone
        self.tail = atomic(0)  # runqtail: stored by the owner only
        self.runnext = atomic(None)

    # ---- the owner's side --------------------------------------------------

    def put_next(self, g: int) -> int | None:
        """runqput(pp, gp, next=true), first part: CAS runnext from its old
        value to gp. Returns the old runnext, which must go to the ring."""
        while True:
            old = self.runnext.load()
            if self.runnext.cas(old, g):
                return old

    def put_ring(self, g: int) -> bool:
        """runqput's ring part: if there is room, store the slot at the tail,
        then publish tail+1 (the store-release thieves synchronise with).
        False when the ring is full: the caller goes to runqputslow."""
        h = self.head.load()
        t = self.tail.load()
        if t - h < self.size:
            self.ring[t % self.size] = g
            self.tail.store(t + 1)
            return True
        return False

    def claim(self, n: int) -> list[int] | None:
        """runqputslow's claim: the n oldest G's of the owner's ring with one
        CAS of runqhead; None if a thief moved the head first (the caller
        retries runqput from the start, as Go does)."""
        h = self.head.load()
        t = self.tail.load()
        if n > t - h:
            return None
        batch = [self._slot(h + i) for i in range(n)]
        if not self.head.cas(h, h + n):
            return None
        return batch

    def putbatch(self, gs: list[int]) -> None:
        """runqputbatch(pp, q): append a batch at the tail, publishing the tail
        once. The callers only do this on a ring that has room for it."""
        if not gs:
            return
        h = self.head.load()
        t = self.tail.load()
        if t - h + len(gs) > self.size:
            raise RunQueueOverflow("runqputbatch: runq overflow")
        for i, g in enumerate(gs):
            self.ring[(t + i) % self.size] = g
        self.tail.store(t + len(gs))

    def put(self, g: int, next_: bool) -> list[int] | None:
        """runqput(pp, gp, next) in one call (the scheduler's steps split it in
        two): runnext first if asked, then the ring; a full ring moves half of
        it plus the G to a batch for the global queue, which is returned."""
        if next_:
            old = self.put_next(g)
            if old is None:
                return None
            g = old
        while True:
            if self.put_ring(g):
                return None
            claimed = self.claim(len(self) // 2)
            if claimed is not None:
                return claimed + [g]

    # ---- anyone's side ------------------------------------------------------

    def get(self) -> tuple[int | None, bool]:
        """runqget(pp): runnext first (the G inherits the time slice), then the
        ring's head, claimed with a CAS."""
        nxt = self.runnext.load()
        if nxt is not None and self.runnext.cas(nxt, None):
            return nxt, True
        while True:
            h = self.head.load()
            t = self.tail.load()
            if t == h:
                return None, False
            g = self._slot(h)
            if self.head.cas(h, h + 1):
                return g, False

    def grab(self, steal_runnext: bool) -> list[int]:
        """runqgrab(pp, ..., stealRunNextG): claim ceil(n/2) G's from the head
        with one CAS of runqhead; with an empty ring and stealRunNextG, CAS
        runnext to nil and take it instead."""
        while True:
            h = self.head.load()
            t = self.tail.load()
            n = t - h
            n -= n // 2
            if n == 0:
                if steal_runnext:
                    nxt = self.runnext.load()
                    if nxt is not None:
                        if not self.runnext.cas(nxt, None):
                            continue
                        return [nxt]
                return []
            if t - h > self.size:
                continue  # h and t read at different times: inconsistent, retry
            batch = [self._slot(h + i) for i in range(n)]
            if self.head.cas(h, h + n):
                return batch

    def empty(self) -> bool:
        """runqempty(pp): no runnext and an empty ring. runqput may be kicking
        runnext into the ring meanwhile, so head, tail and runnext are read
        until tail is the same before and after: never reported empty when
        it is not (Go's TestSchedLocalQueueEmpty)."""
        while True:
            head = self.head.load()
            tail = self.tail.load()
            nxt = self.runnext.load()
            if tail == self.tail.load():
                return head == tail and nxt is None

    # ---- saving and restoring (an undone step, under the P's lock) ---------------

    def save(self) -> tuple:
        return (list(self.ring), self.head.load(), self.tail.load(), self.runnext.load())

    def restore(self, saved: tuple) -> None:
        ring, head, tail, runnext = saved
        self.ring = list(ring)
        self.head.store(head)
        self.tail.store(tail)
        self.runnext.store(runnext)

    # ---- reading, for the projection and for a steal without its CAS ----------

    def items(self) -> list[int]:
        """The ring's G's, head first (only meaningful while nobody changes it)."""
        h = self.head.load()
        t = self.tail.load()
        return [self._slot(i) for i in range(h, t)]

    def __len__(self) -> int:
        return self.tail.load() - self.head.load()

    def _slot(self, i: int) -> int:
        g = self.ring[i % self.size]
        assert g is not None
        return g


def runqsteal(pp: RunQueue, victim: RunQueue, steal_runnext: bool) -> int | None:
    """runqsteal(pp, p2, stealRunNextG): grab from the victim, keep the last G
    to run and publish the others on pp's ring. The scheduler does this in
    two steps (stealWork, then runqputbatch); this is the one-call form."""
    batch = victim.grab(steal_runnext)
    if not batch:
        return None
    pp.putbatch(batch[:-1])
    return batch[-1]
