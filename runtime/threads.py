"""The runtime's threads: one `threading.Thread` per M that exists, and one
for sysmon, each taking its own steps; the gates that decide when; and the
watchdog of a free run.

A free run (`FreeGate`) lets every thread step as fast as the step locks
allow: an M in a system call first sleeps the call's duration, sysmon
sleeps between its passes, a parked M sleeps on its note until startm wakes
it. A replay (`ReplayGate`) lets a thread take a step only when the replay
driver hands it the step and its choice, and waits until it is done:
exactly one step at a time, in the trace's order.

The watchdog stops a free run at its bound (steps, seconds), when it has
gone quiet (every thread parked or waiting, no step taken), when a thread
raised or the runtime threw, and when it hangs (no step for `hang_after`
seconds while some thread is not idle): then it dumps the scheduler's
state instead of waiting forever.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

from model.machine import TRUNCATED
from model.pcs import PC, PC_NAMES

SYSCALL_TIME = 2e-4  # a system call lasts up to this long in a free run (s)
SYSMON_DELAY = 1e-4  # sysmon sleeps up to this long between passes
RETRY_DELAY = 5e-4  # an actor with nothing to do tries again after this long
POLL = 0.005  # the watchdog's period


class ReplayHang(RuntimeError):
    """A thread handed a step did not finish it in time."""


class FreeGate:
    replay = False


class ReplayGate:
    """Hands one step at a time to the thread that owns it."""

    replay = True

    def __init__(self, actors: int):
        self._go = [threading.Semaphore(0) for _ in range(actors)]
        self._choice: list[object] = [None] * actors
        self._done = threading.Semaphore(0)
        self._label: str | None = None

    def wait(self, a: int, rt: Threads) -> tuple[bool, object]:
        """The thread of actor a waits for its turn: (got it, the choice)."""
        while not rt.stopping:
            if self._go[a].acquire(timeout=0.05):
                return not rt.stopping, self._choice[a]
        return False, None

    def close(self) -> None:
        """Let every waiting thread go (it sees the run stopping)."""
        for go in self._go:
            go.release()

    def finish(self, label: str | None) -> None:
        self._label = label
        self._done.release()

    def run(self, a: int, c: object, timeout: float) -> str | None:
        """Let actor a take one step with choice c; its label once it is done."""
        self._choice[a] = c
        self._go[a].release()
        if not self._done.acquire(timeout=timeout):
            raise ReplayHang(f"the thread of actor {a} did not finish its step in {timeout:.0f} s")
        return self._label


@dataclass
class FreeRun:
    """How a free run ended."""

    stopped: str  # steps, seconds, quiescent, throw, error, hung, interrupted
    steps: int
    elapsed: float
    dump: list[str] | None = None


class Threads:
    """Mixed into the Runtime (runtime/scheduler.py)."""

    def _init_threads(self) -> None:
        self.gate: FreeGate | ReplayGate = FreeGate()
        self.stopping = False
        self.error: tuple[str, BaseException, str] | None = None
        self._err_mu = threading.Lock()
        self.started = False

    # ---- starting and stopping ----------------------------------------------------

    def start(self, gate: FreeGate | ReplayGate | None = None) -> None:
        """Start the threads of the Ms that exist and of sysmon."""
        if gate is not None:
            self.gate = gate
        # Which Ms exist is decided before the first thread runs: from then on
        # newm starts the threads of the Ms created (two threads for one M
        # would be a disaster).
        exist = [a for a, mp in enumerate(self.allm) if mp.pc != PC.NOT_CREATED]  # type: ignore[attr-defined]
        self.started = True
        for a in exist:
            self._spawn(a)

    def newm(self, m: int) -> None:
        """newm: a new OS thread for M m (it blocks on the M's step lock,
        held by the startm step that created it, until that step is over)."""
        if self.started:
            self._spawn(m)

    def _spawn(self, a: int) -> None:
        mp = self.allm[a]  # type: ignore[attr-defined]
        name = "sysmon" if a == self.SYSMON else f"M{a}"  # type: ignore[attr-defined]
        t = threading.Thread(target=self._main, args=(a,), name=name, daemon=True)
        mp.thread = t
        t.start()

    def stop(self) -> None:
        self.stopping = True
        for mp in self.allm:  # type: ignore[attr-defined]
            mp.park.wakeup()
        if isinstance(self.gate, ReplayGate):
            self.gate.close()

    def join(self, timeout: float = 2.0) -> list[str]:
        """Wait for the threads; the names of those that did not end."""
        deadline = time.monotonic() + timeout
        stuck = []
        for mp in self.allm:  # type: ignore[attr-defined]
            t = mp.thread
            if t is not None and t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
                if t.is_alive():
                    stuck.append(t.name)
        return stuck

    def fail(self, who: str, exc: BaseException) -> None:
        """A thread raised: keep the first exception and stop the whole run."""
        with self._err_mu:
            if self.error is None:
                self.error = (who, exc, traceback.format_exc())
        self.stop()

    def on_throw(self, a: int) -> None:
        """The runtime threw: a free run is over (the process would be gone);
        a replay compares the state the throw left."""
        if not self.gate.replay:
            self.stopping = True

    # ---- a thread --------------------------------------------------------------------

    def _main(self, a: int) -> None:
        mp = self.allm[a]  # type: ignore[attr-defined]
        try:
            while not self.stopping:
                pc = mp.pc
                if pc == PC.NOT_CREATED:
                    break  # mexit: the thread is gone (a newm may start the slot again)
                if pc == PC.PARKED or (pc == PC.LOCKED_WAIT and mp.nextp is None):
                    mp.idle = True
                    if mp.park.sleep(0.05):  # notesleep(&mp.park)
                        mp.park.clear()  # noteclear
                        mp.idle = False
                    continue
                if pc == PC.THROWN:
                    break
                if self.gate.replay:
                    go, c = self.gate.wait(a, self)  # type: ignore[union-attr]
                    if not go:
                        break
                    label = self.take_step(a, c, imposed=True)  # type: ignore[attr-defined]
                    self.gate.finish(label)  # type: ignore[union-attr]
                    continue
                self._free_step(a)
        except BaseException as e:  # a bug in the runtime: stop everything, report it
            self.fail(mp.thread.name if mp.thread else str(a), e)
            if isinstance(self.gate, ReplayGate):
                self.gate.finish(None)  # the driver is waiting for this step: let it see
        finally:
            mp.idle = True

    def _free_step(self, a: int) -> None:
        mp = self.allm[a]  # type: ignore[attr-defined]
        rng = self.rngs[a]  # type: ignore[attr-defined]
        if mp.pc == PC.IN_SYSCALL:
            time.sleep(rng.random() * SYSCALL_TIME)  # the system call itself
        label = self.take_step(a)  # type: ignore[attr-defined]
        if label is None or label is TRUNCATED:
            # Nothing to do now (sysmon), or a bound of the configuration (no G
            # slot, no M slot): wait for another thread to change that.
            mp.idle = True
            time.sleep(RETRY_DELAY)
            mp.idle = False
        elif a == self.SYSMON and mp.pc == PC.SYSMON:  # type: ignore[attr-defined]
            time.sleep(rng.random() * SYSMON_DELAY)  # usleep(delay)
        elif rng.random() < 0.1:
            time.sleep(0)  # let another thread in: more interleavings

    # ---- a free run ---------------------------------------------------------------------

    def all_idle(self) -> bool:
        for mp in self.allm:  # type: ignore[attr-defined]
            if mp.thread is not None and mp.thread.is_alive() and not mp.idle:
                return False
        return True

    def run_free(
        self,
        steps: int | None = None,
        seconds: float | None = None,
        hang_after: float = 5.0,
        until_all_dead: bool = False,
    ) -> FreeRun:
        """Start the threads and watch them until the run ends (see the module
        docstring); the threads are stopped and joined before returning."""
        t0 = time.monotonic()
        self.start(FreeGate())
        journal = self.journal  # type: ignore[attr-defined]
        last, last_change, quiet = journal.count(), t0, 0
        stopped, dump = "", None
        try:
            while not stopped:
                time.sleep(POLL)
                now = time.monotonic()
                n = journal.count()
                if self.error is not None:
                    stopped = "error"
                elif self.sched.throw:  # type: ignore[attr-defined]
                    stopped = "throw"
                elif steps is not None and n >= steps:
                    stopped = "steps"
                elif seconds is not None and now - t0 >= seconds:
                    stopped = "seconds"
                elif n != last:
                    last, last_change, quiet = n, now, 0
                elif self.all_idle():
                    quiet += 1
                    if quiet >= 3:
                        stopped = "quiescent"
                elif now - last_change > hang_after:
                    stopped, dump = "hung", self.dump()
        except KeyboardInterrupt:
            stopped = "interrupted"  # the threads are stopped; what was recorded is kept
        self.stop()
        stuck = self.join(0.5 if stopped == "hung" else 2.0)
        if stuck and dump is None:
            dump = [f"threads that did not stop: {', '.join(stuck)}", *self.dump()]
        return FreeRun(stopped, journal.count(), time.monotonic() - t0, dump)

    def dump(self) -> list[str]:
        """The scheduler's state, read without its locks (they may be stuck)."""
        sched = self.sched  # type: ignore[attr-defined]
        out = [
            f"sched: runq={list(sched.runq)} pidle={sched.pidle} midle={sched.midle} "
            f"nmspinning={sched.nmspinning.load()} needspinning={sched.needspinning.load()} "
            f"throw={sched.throw}"
        ]
        for pp in self.allp:  # type: ignore[attr-defined]
            out.append(
                f"P{pp.id}: status={pp.status.load()} m={pp.m} "
                f"runnext={pp.runq.runnext.load()} runq={pp.runq.items()}"
                + (" [locked]" if pp.unit.mu.locked() else "")
            )
        for a, mp in enumerate(self.allm):  # type: ignore[attr-defined]
            if mp.pc == PC.NOT_CREATED:
                continue
            who = "sysmon" if a == self.SYSMON else f"M{a}"  # type: ignore[attr-defined]
            alive = mp.thread is not None and mp.thread.is_alive()
            out.append(
                f"{who}: pc={PC_NAMES[int(mp.pc)]} p={mp.p} curg={mp.curg} gp={mp.gp} "
                f"spinning={mp.spinning} idle={mp.idle} thread={'alive' if alive else 'ended'}"
                + (" [locked]" if mp.unit.mu.locked() else "")
            )
        held = [u.name for u in self.all_units() if u.mu.locked()]  # type: ignore[attr-defined]
        out.append(f"step locks held: {', '.join(held) or 'none'}")
        return out
