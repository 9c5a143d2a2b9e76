"""A stress run: thousands of goroutines on real threads, every one accounted for.

The workload is a tree: main spawns `branches` goroutines, each spawns
`leaves` short ones that compute, make system calls (some blocking:
entersyscallblock hands the P off at once) and yield with Gosched; beside
it, `pairs` pairs of goroutines ping-pong through their own two semaphores
(blocking pairs: each side parks until the other readies it). Every
goroutine ends. The runtime has no G-slot bound here (G's are reused after
goexit, and new ones made when none is free) and at most `max_ms` threads.

The run passes when every goroutine started exactly once and exited exactly
once, none is left in a queue, every M is parked, and no thread raised or
threw; the watchdog fails it with a dump of the scheduler's state if it
stops making progress, and the time bound fails it if it is too slow.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, replace

from model.config import Config
from model.state import G_DEAD
from model.workloads import Workload
from runtime.scheduler import Runtime
from runtime.threads import FreeRun


def stress_workload(
    branches: int = 40, leaves: int = 50, pairs: int = 6, rounds: int = 4
) -> Workload:
    programs: dict[str, list[str]] = {
        "main": [*(f"go pinger{i}" for i in range(pairs)), *["go branch"] * branches, "exit"],
        "branch": ["syscall", *["go leaf"] * leaves, "gosched", "exit"],
        "leaf": ["compute", "syscall", "gosched", "syscall-block", "exit"],
    }
    for i in range(pairs):
        programs[f"pinger{i}"] = [f"go ponger{i}", *[f"ready ping{i}", f"park pong{i}"] * rounds]
        programs[f"ponger{i}"] = [f"park ping{i}", f"ready pong{i}"] * rounds
    return Workload(
        name="stress",
        description=f"{branches} x {leaves} short goroutines and {pairs} ping-pong pairs",
        programs=programs,
    )


def stress_count(branches: int, leaves: int, pairs: int) -> int:
    """How many goroutines the stress workload runs in all."""
    return 1 + branches + branches * leaves + 2 * pairs


class CountExits:
    """Mixed into a runtime: counts the goroutines that exit, by goid."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.exits: Counter[int] = Counter()
        self._exits_mu = threading.Lock()

    def on_goexit(self, g: int) -> None:
        with self._exits_mu:
            self.exits[self.allg[g].goid] += 1  # type: ignore[attr-defined]


def stress_runtime(cfg: Config, workload: Workload, seed: int) -> Runtime:
    """The runtime of `cfg` (a registered mutation's, if it names one; on
    its profile's system calls), counting exits, with no G-slot bound."""
    from model.mutations import MUTATIONS
    from runtime.factory import on_profile, runtime_class_of

    base = runtime_class_of(cfg.mutation) if cfg.mutation else Runtime
    if cfg.mutation and MUTATIONS[cfg.mutation].config:
        cfg = replace(cfg, **MUTATIONS[cfg.mutation].config)
    klass = on_profile(type(f"Stress{base.__name__}", (CountExits, base), {}), cfg.profile)
    return klass(cfg, workload, seed=seed, grow_gs=True)


@dataclass
class StressResult:
    expected: int
    run: FreeRun
    problems: list[str] = field(default_factory=list)
    threads: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def stress(
    *,
    cores: int = 4,
    max_ms: int = 8,
    branches: int = 40,
    leaves: int = 50,
    pairs: int = 6,
    seed: int = 1,
    seconds: float = 120.0,
    hang_after: float = 10.0,
    mutation: str = "",
    profile: str = "go1.25",
) -> StressResult:
    w = stress_workload(branches, leaves, pairs)
    cfg = Config(
        cores=cores, max_ms=max_ms, ring=4, workload="stress", mutation=mutation, profile=profile
    )
    rt = stress_runtime(cfg, w, seed)
    run = rt.run_free(seconds=seconds, hang_after=hang_after)
    res = StressResult(stress_count(branches, leaves, pairs), run)
    res.threads = sum(1 for mp in rt.allm if mp.thread is not None)
    problems = res.problems
    if rt.error is not None:
        problems.append(f"{rt.error[0]} raised {rt.error[1]!r}")
    if rt.sched.throw:
        problems.append(f"the runtime threw (code {rt.sched.throw})")
    if run.stopped != "quiescent":
        problems.append(f"the run did not finish by itself: {run.stopped}")
    if rt.sched.goidgen != res.expected:
        problems.append(f"{rt.sched.goidgen} goroutines started, {res.expected} expected")
    exits = rt.exits  # type: ignore[attr-defined]
    twice = sorted(goid for goid, n in exits.items() if n > 1)
    if twice:
        problems.append(f"goroutines that exited more than once: {twice[:10]}")
    missing = res.expected - len(exits)
    if missing:
        problems.append(f"{missing} goroutines never exited (lost)")
    alive = [gp.id for gp in rt.allg if gp.status != G_DEAD]
    if alive:
        problems.append(f"G's not dead at the end: {alive[:10]}")
    queued = list(rt.sched.runq) + [g for pp in rt.allp for g in pp.runq.items()]
    if queued:
        problems.append(f"G's still queued: {queued[:10]}")
    awake = [mp.id for mp in rt.allm[: rt.SYSMON] if mp.state not in ("parked", "gone")]
    if awake:
        problems.append(f"Ms not parked at the end: {awake}")
    if problems and run.dump is None:
        run.dump = rt.dump()
    return res
