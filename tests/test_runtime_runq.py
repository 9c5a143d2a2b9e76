"""The facts Go's own run-queue tests check (proc_test.go TestSchedLocalQueue,
TestSchedLocalQueueSteal, TestSchedLocalQueueEmpty: export_test.go
RunSchedLocalQueue*Test), on the runtime's lock-free queue
(runtime/runq.py). The races are tried in every interleaving of the
threads' atomic accesses (a GIL makes the bad ones too rare to meet by
chance), and a steal under contention runs on free threads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest

from runtime.atomic import Atomic
from runtime.runq import RunQueue, RunQueueOverflow, runqsteal

SIZE = 256  # Go's ring


def test_ring_is_fifo_and_wraps():
    """RunSchedLocalQueueTest: for every fill level the ring gives the G's
    back in the order they were put, and is empty after; head and tail go
    round the ring many times."""
    q = RunQueue(SIZE)
    for _ in range(3):
        for i in range(SIZE):
            assert q.get() == (None, False), "queue is not empty"
            for j in range(i):
                assert q.put_ring(j)
            for j in range(i):
                assert q.get() == (j, False), "bad element"
            assert q.get() == (None, False), "queue is not empty"
    assert q.head.load() == q.tail.load() > 3 * SIZE  # it wrapped


def test_runnext_comes_first_and_inherits_the_time_slice():
    q = RunQueue(4)
    q.put_ring(1)
    assert q.put_next(2) is None
    assert q.put_next(3) == 2  # kicked out: runqput puts it on the ring
    assert q.get() == (3, True)
    assert q.get() == (1, False)


def test_full_ring_sends_half_and_the_new_g_to_the_global_queue():
    """runqputslow: a full ring gives up its oldest half plus the new G."""
    q = RunQueue(8)
    for g in range(8):
        assert q.put(g, next_=False) is None
    assert not q.put_ring(8)
    assert q.put(8, next_=False) == [0, 1, 2, 3, 8]
    assert q.items() == [4, 5, 6, 7]
    with pytest.raises(RunQueueOverflow):
        q.putbatch([9, 10, 11, 12, 13])


def test_steal_takes_half_and_sees_every_g_once():
    """RunSchedLocalQueueStealTest: p2 steals from p1 holding i G's; every G
    is found exactly once, in p1 or p2, and p2 got between i/2 and i."""
    for i in range(SIZE):
        p1, p2 = RunQueue(SIZE), RunQueue(SIZE)
        seen: Counter[int] = Counter()
        for j in range(i):
            p1.put_ring(j)
        stolen = 0
        g = runqsteal(p2, p1, True)
        while g is not None:
            stolen += 1
            seen[g] += 1
            g, _ = p2.get()
        g, _ = p1.get()
        while g is not None:
            seen[g] += 1
            g, _ = p1.get()
        assert seen == Counter(range(i)), "each G must be seen exactly once"
        assert i // 2 <= stolen <= i, f"wrong number of G's stolen: {stolen} of {i}"


def test_steal_takes_runnext_only_on_request_and_when_the_ring_is_empty():
    p1, p2 = RunQueue(4), RunQueue(4)
    p1.put_next(7)
    assert runqsteal(p2, p1, False) is None
    assert runqsteal(p2, p1, True) == 7
    assert p1.empty()


# ---- every interleaving of two threads' atomic accesses ---------------------------


class Turnstile:
    """Runs threads one atomic access at a time: only the thread it lets go
    runs, up to its next access (or its end). Which one goes is the
    schedule's choice, then by default the one that ran last (no
    preemption); the threads enabled at each access are recorded so that
    `interleavings` can try the other choices."""

    current: Turnstile | None = None

    def __init__(self, prefix: list[str]):
        self.prefix = prefix
        self.state: dict[str, str] = {}
        self.go: dict[str, threading.Semaphore] = {}
        self.arrived = threading.Semaphore(0)
        self.log: list[tuple[list[str], str]] = []
        self.errors: list[BaseException] = []

    def point(self) -> None:
        name = threading.current_thread().name
        if name not in self.state:
            return  # set-up code on the main thread
        self.state[name] = "waiting"
        self.arrived.release()
        self.go[name].acquire()

    def run(self, fns: dict[str, Callable[[], None]]) -> None:
        threads = []
        for n, f in fns.items():
            self.state[n] = "running"
            self.go[n] = threading.Semaphore(0)
            t = threading.Thread(target=self._body, args=(f,), name=n)
            threads.append(t)
            t.start()
            self.arrived.acquire()  # at its first access, or done
        last = None
        while True:
            enabled = sorted(n for n, st in self.state.items() if st == "waiting")
            if not enabled:
                break
            k = len(self.log)
            if k < len(self.prefix):
                chosen = self.prefix[k]
            else:
                chosen = last if last in enabled else enabled[0]
            self.log.append((enabled, chosen))
            self.state[chosen] = "running"
            last = chosen
            self.go[chosen].release()
            self.arrived.acquire()
        for t in threads:
            t.join()
        if self.errors:
            raise self.errors[0]

    def _body(self, f: Callable[[], None]) -> None:
        try:
            f()
        except BaseException as e:
            self.errors.append(e)
        finally:
            self.state[threading.current_thread().name] = "done"
            self.arrived.release()


def _preemptions(log: list[tuple[list[str], str]], schedule: list[str]) -> int:
    """Switches away from a thread that could have gone on."""
    return sum(
        1
        for k in range(1, len(schedule))
        if schedule[k] != schedule[k - 1] and schedule[k - 1] in log[k][0]
    )


class SteppedAtomic(Atomic):
    """An atomic whose every access is a point where another thread may run."""

    def load(self):
        Turnstile.current.point()  # type: ignore[union-attr]
        return super().load()

    def store(self, v):
        Turnstile.current.point()  # type: ignore[union-attr]
        super().store(v)

    def cas(self, old, new):
        Turnstile.current.point()  # type: ignore[union-attr]
        return super().cas(old, new)


def interleavings(
    setup: Callable[[], dict], threads: Callable[[dict], dict], check, preemptions: int = 3
) -> int:
    """Run `threads` (names -> functions, over the objects `setup` makes) in
    every interleaving of their atomic accesses with at most `preemptions`
    preemptions (bugs of this kind need one or two: CHESS's context
    bounding); `check(objects, schedule)` must hold after each. Returns how
    many interleavings were run."""
    todo: list[list[str]] = [[]]
    runs = 0
    while todo:
        prefix = todo.pop()
        ts = Turnstile(prefix)
        Turnstile.current = ts
        objs = setup()
        ts.run(threads(objs))
        runs += 1
        chosen = [c for _, c in ts.log]
        check(objs, chosen)
        for k in range(len(prefix), len(ts.log)):
            for alt in ts.log[k][0]:
                if alt != chosen[k]:
                    branch = chosen[:k] + [alt]
                    if _preemptions(ts.log, branch) <= preemptions:
                        todo.append(branch)
    return runs


def _empty_race(next0: bool, next1: bool):
    """RunSchedLocalQueueEmptyTest: the queue holds one G throughout while one
    thread moves it between runnext and the ring (runqput, runqget) and
    another asks runqempty."""

    def setup() -> dict:
        q = RunQueue(4, SteppedAtomic)
        q.put(0, next0)
        return {"q": q, "empty": []}

    def threads(o: dict) -> dict:
        def mover() -> None:
            o["q"].put(1, next1)
            o["q"].get()

        return {"A": mover, "B": lambda: o["empty"].append(o["q"].empty())}

    def check(o: dict, schedule: list[str]) -> None:
        assert o["empty"] == [False], f"queue reported empty ({next0=}, {next1=}): {schedule}"

    return setup, threads, check


@pytest.mark.parametrize("next0", [True, False])
@pytest.mark.parametrize("next1", [True, False])
def test_queue_is_never_reported_empty_when_it_is_not(next0, next1):
    runs = interleavings(*_empty_race(next0, next1))
    assert runs > 20  # the interleavings were tried, not one run


def test_the_interleavings_find_a_runqempty_without_its_tail_recheck(monkeypatch):
    """The harness has teeth: runqempty without Go's re-read of runqtail
    reports empty in some interleaving (runqput kicks runnext to the ring
    between the reads)."""

    def naive(self) -> bool:
        head, tail, nxt = self.head.load(), self.tail.load(), self.runnext.load()
        return head == tail and nxt is None

    monkeypatch.setattr(RunQueue, "empty", naive)
    with pytest.raises(AssertionError, match="queue reported empty"):
        interleavings(*_empty_race(True, True))


def test_owner_and_thief_never_both_take_a_g():
    """runqget on the owner's side and runqsteal on a thief's, in every
    interleaving of their atomics: each G is taken exactly once."""

    def setup() -> dict:
        q = RunQueue(4, SteppedAtomic)
        for g in (1, 2, 3):
            q.put_ring(g)
        q.put_next(4)
        return {"q": q, "mine": RunQueue(4, SteppedAtomic), "got": []}

    def threads(o: dict) -> dict:
        def owner() -> None:
            for _ in range(2):
                g, _ = o["q"].get()
                o["got"].append(g)

        def thief() -> None:
            g = runqsteal(o["mine"], o["q"], True)
            o["got"].append(g)

        return {"owner": owner, "thief": thief}

    def check(o: dict, schedule: list[str]) -> None:
        got = [g for g in o["got"] if g is not None]
        got += o["mine"].items() + o["q"].items()
        nxt = o["q"].runnext.load()
        got += [nxt] if nxt is not None else []
        assert sorted(got) == [1, 2, 3, 4], f"{got} after {schedule}"

    assert interleavings(setup, threads, check) > 20


def test_concurrent_thieves_see_every_g_exactly_once():
    """The owner puts (and sometimes takes) while two thieves steal from
    their own threads: every G ends up in exactly one pair of hands."""
    victim = RunQueue(16)
    taken: list[list[int]] = [[], [], []]
    n = 20_000
    done = threading.Event()

    def owner() -> None:
        for g in range(n):
            while not victim.put_ring(g):
                got, _ = victim.get()
                if got is not None:
                    taken[0].append(got)
            if g % 7 == 0:
                got, _ = victim.get()
                if got is not None:
                    taken[0].append(got)
        done.set()

    def thief(k: int) -> None:
        mine = RunQueue(16)
        while not done.is_set() or len(victim):
            g = runqsteal(mine, victim, True)
            while g is not None:
                taken[k].append(g)
                g, _ = mine.get()

    threads = [threading.Thread(target=owner)] + [
        threading.Thread(target=thief, args=(k,)) for k in (1, 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Counter(g for hands in taken for g in hands) == Counter(range(n))
    assert taken[1] or taken[2], "the thieves should have stolen something"
