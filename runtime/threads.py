"""The runtime's threads and the controllers that drive them.

One `threading.Thread` per M that exists and one for sysmon. Each runs
the scheduler's code (an M: mstart -> schedule, forever; sysmon: its
loop) and stops at every schedule point (runtime/control.py). Two
drivers hand out the steps:

- `step(a, choice)`: a replay's driver names the actor and imposes the
  choice (checker/replay/replay.py);
- `run_free()`: a free run, where a seeded random scheduler (or PCT,
  probabilistic concurrency testing: priorities with a few change
  points) picks the next thread among those with a step open, and the
  runtime's own policy picks its choice (a random steal order and
  sysmon's order, else the first option: the oldest waiter, allp in
  order). It stops at its bound, when no thread has a step left
  (quiescent), when a thread raised or the runtime threw, and when it
  takes no step for a while (a hang): then it dumps the scheduler's state.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.control import GONE, STOPPED, Control, Stop, ThreadExit, Throw
from runtime.objects import M, Sched

NOT_ALLOWED = "<not allowed>"  # an imposed choice the runtime's state does not offer
NOT_OPEN = "<not open>"  # the actor has no step now (parked, or a bound of the configuration)

SCHEDULERS = ("random", "pct")  # how a free run picks the next thread
PCT_DEPTH = 3  # PCT's priority change points, by default
PCT_HORIZON = 2000  # the steps PCT places its change points in, when the run has no step bound


@dataclass
class FreeRun:
    """How a free run ended."""

    stopped: str  # steps, seconds, quiescent, throw, error, hung, interrupted
    steps: int
    elapsed: float
    dump: list[str] | None = None


class Journal:
    """What a free run tells about each step it took (a recording journal,
    checker/replay/record.py, keeps them)."""

    def step(self, rt: Any, a: int, choice: Any, label: str) -> None:
        pass


class PCT:
    """Probabilistic concurrency testing: each actor a random priority, the
    highest with a step goes; at `depth` random steps among the first
    `horizon` the running actor's priority drops below every other."""

    def __init__(
        self, rng: random.Random, actors: int, depth: int = PCT_DEPTH, horizon: int = PCT_HORIZON
    ):
        self.rng = rng
        self.prio = rng.sample(range(depth, depth + actors), actors)
        self.changes = set(rng.sample(range(horizon), min(depth, horizon)))
        self.low = depth
        self.n = 0

    def order(self, actors: list[int]) -> list[int]:
        return sorted(actors, key=lambda x: -self.prio[x])

    def took(self, a: int) -> None:
        """Actor a takes the next step: at a change point, its priority drops."""
        if self.n in self.changes:
            self.low -= 1
            self.prio[a] = self.low
        self.n += 1


class FreeScheduler:
    """A free run's scheduler, run by the thread that settles each step
    (runtime/control.py `driver`): it journals the step just taken, then
    hands the next one out, or ends the run."""

    def __init__(self, rt: Any, steps: int | None, seconds: float | None, t0: float):
        self.rt = rt
        self.steps, self.seconds, self.t0 = steps, seconds, t0
        self.rng = random.Random(f"free:{rt.seed}")
        self.pct = None
        if rt.policy == "pct":  # its change points fall within the run
            self.pct = PCT(self.rng, len(rt.allm), rt.pct_depth, steps or PCT_HORIZON)
        self.n = 0  # the steps taken
        self.last: tuple[int, Any, str] | None = None
        self.stopped = ""

    def __call__(self) -> None:
        rt = self.rt
        try:
            if self.last is not None and rt.error is None:
                rt.journal.step(rt, *self.last)
                self.n += 1
            self.stopped = self.stop_reason()
            picked = None if self.stopped else self.pick()
            if picked is None:
                self.stopped = self.stopped or "quiescent"
                rt.control.finish()
                return
            a, choice = picked
            self.last = (a, choice, rt.label(rt.allm[a], choice))
            rt.control.hand(rt.allm[a], choice)
        except BaseException as e:  # a bug in the scheduler or the journal
            rt.fail(threading.current_thread().name, e)

    def pick(self) -> tuple[int, Any] | None:
        """The next thread to step and its choice: the first in the
        scheduler's order (random, or PCT's priorities) with a step open;
        None when no thread has one (the run is quiescent)."""
        rt, rng, pct = self.rt, self.rng, self.pct
        stopped = [mp.id for mp in rt.allm if mp.state == STOPPED]
        order = pct.order(stopped) if pct else rng.sample(stopped, len(stopped))
        for a in order:
            opts = rt.options_of(a)
            if opts is not None and not opts:
                continue
            if pct:
                pct.took(a)
            if opts is None:
                return a, None
            at = rt.allm[a].at
            return a, rng.choice(opts) if at is not None and at.shuffle else opts[0]
        return None

    def stop_reason(self) -> str:
        rt = self.rt
        if rt.error is not None:
            return "error"
        if rt.sched.throw:
            return "throw"
        if self.steps is not None and self.n >= self.steps:
            return "steps"
        if self.seconds is not None and time.monotonic() - self.t0 >= self.seconds:
            return "seconds"
        return ""


class Threads:
    control: Control
    allm: list[M]
    sched: Sched
    SYSMON: int
    seed: int

    def _init_threads(self) -> None:
        self.control = Control()
        self.error: tuple[str, BaseException, str] | None = None
        self.started = False
        self.journal = Journal()
        self.policy = "random"  # or "pct": how a free run picks the next thread (SCHEDULERS)
        self.pct_depth = PCT_DEPTH  # PCT's priority change points
        # The M whose step threw at a bad queue access (Throw.void): the
        # state to compare is the one before that step.
        self.void_throw: int | None = None

    # ---- starting and stopping -------------------------------------------------------

    def thread_main(self, mp: M, body: Callable[[], None]) -> None:
        state = GONE
        try:
            body()
        except (Stop, ThreadExit):
            pass
        except Throw as t:
            self.sched.throw = t.code
            state = "thrown"
            if t.void:
                self.void_throw = mp.id
        except BaseException as e:  # a bug in the runtime: stop everything, report it
            self.fail(threading.current_thread().name, e)
        finally:
            self.control.leave(mp, state)

    def spawn(self, mp: M, body: Callable[[], None]) -> None:
        """A thread for M mp (newm's newosproc): it runs until its first point."""
        self.control.enter(mp)
        name = "sysmon" if mp.id == self.SYSMON else f"M{mp.id}"
        t = threading.Thread(target=self.thread_main, args=(mp, body), name=name, daemon=True)
        mp.thread = t
        t.start()

    def start(self) -> None:
        """Start the threads of the Ms that exist and of sysmon, and wait
        until each is at its first point."""
        self.started = True
        for mp, body in self.first_threads():
            self.spawn(mp, body)
        self.control.settle(10.0)

    def first_threads(self) -> list[tuple[M, Callable[[], None]]]:
        raise NotImplementedError

    def stop(self) -> None:
        self.control.stop()

    def join(self, timeout: float = 2.0) -> list[str]:
        """Wait for the threads; the names of those that did not end."""
        deadline = time.monotonic() + timeout
        stuck = []
        for mp in self.allm:
            t = mp.thread
            if t is not None and t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
                if t.is_alive():
                    stuck.append(t.name)
        return stuck

    def fail(self, who: str, exc: BaseException) -> None:
        """A thread raised: keep the first exception and stop the whole run."""
        if self.error is None:
            self.error = (who, exc, traceback.format_exc())
        self.control.stop()

    # ---- one step, as a driver hands it out ------------------------------------------------

    def options_of(self, a: int) -> list | None:
        """The choices actor a's next step has now; None: it has no choice
        (or is not at a point)."""
        mp = self.allm[a]
        if mp.state != STOPPED or mp.at is None or mp.at.options is None:
            return None
        return mp.at.options()

    def has_step(self, a: int) -> bool:
        mp = self.allm[a]
        if mp.state != STOPPED or self.sched.throw:
            return False
        opts = self.options_of(a)
        return opts is None or bool(opts)

    def step(self, a: int, choice: Any = None, timeout: float = 10.0) -> str:
        """Actor a takes its next step with `choice`: the step's label, or
        NOT_OPEN, NOT_ALLOWED. ControlHang if it does not finish in time."""
        mp = self.allm[a]
        if mp.state != STOPPED or mp.at is None:
            return NOT_OPEN
        opts = self.options_of(a)
        if opts is not None:
            if not opts:
                return NOT_OPEN
            if choice not in opts:
                return NOT_ALLOWED
        label = self.label(mp, choice)
        self.control.grant(mp, choice, timeout)
        return label

    def label(self, mp: M, choice: Any) -> str:
        assert mp.at is not None
        who = "sysmon" if mp.id == self.SYSMON else f"m={mp.id}"
        if mp.at.options is None or choice is None:
            return f"{mp.at.where}({who})"
        return f"{mp.at.where}({who}, {choice!r})"

    # ---- a free run ----------------------------------------------------------------------------

    def run_free(
        self,
        steps: int | None = None,
        seconds: float | None = None,
        hang_after: float = 5.0,
    ) -> FreeRun:
        """Start the threads and drive them until the run ends (see the
        module docstring); the threads are stopped and joined before
        returning. The scheduler runs on the thread that settles each step
        (FreeScheduler); this thread watches for a hang and for Ctrl-C."""
        t0 = time.monotonic()
        dump = None
        if not self.started:
            self.start()
        sched = FreeScheduler(self, steps, seconds, t0)
        self.control.driver = sched
        sched()  # the first step: every thread is at its first point
        seen, since = 0, time.monotonic()
        try:
            while not self.control.await_end(0.1):
                if sched.n != seen:
                    seen, since = sched.n, time.monotonic()
                elif time.monotonic() - since > hang_after:
                    sched.stopped, dump = "hung", self.dump()
                    break
        except KeyboardInterrupt:
            sched.stopped = "interrupted"
        self.stop()
        stopped = "error" if self.error is not None else sched.stopped
        stuck = self.join(0.5 if stopped == "hung" else 2.0)
        if stuck and dump is None:
            dump = [f"threads that did not stop: {', '.join(stuck)}", *self.dump()]
        return FreeRun(stopped, sched.n, time.monotonic() - t0, dump)

    def dump(self) -> list[str]:
        """The scheduler's state, read without its locks (they may be stuck)."""
        sched = self.sched
        out = [
            f"sched: runq={list(sched.runq)} pidle={sched.pidle} midle={sched.midle} "
            f"nmspinning={sched.nmspinning.load()} needspinning={sched.needspinning.load()} "
            f"throw={sched.throw}"
        ]
        for pp in self.allp:  # type: ignore[attr-defined]
            out.append(
                f"P{pp.id}: status={pp.status.load()} m={pp.m} "
                f"runnext={pp.runq.runnext.load()} runq={pp.runq.items()}"
            )
        for mp in self.allm:
            if mp.thread is None:
                continue
            who = "sysmon" if mp.id == self.SYSMON else f"M{mp.id}"
            where = mp.at.where if mp.at is not None else "-"
            out.append(
                f"{who}: {mp.state} at {where!r} in {'/'.join(mp.stack) or '-'} p={mp.p} "
                f"curg={mp.curg} spinning={mp.spinning}"
            )
        held = [f"{mu.name} (by {mu.holder})" for mu in self.locks() if mu.locked()]
        out.append(f"locks held: {', '.join(held) or 'none'}")
        return out

    def locks(self) -> list:
        raise NotImplementedError
