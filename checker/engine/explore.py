"""The explicit-state engine: breadth-first search over a model's states.

Breadth-first, level by level, so the first violation of each property is
at the smallest depth, and within that depth the first in discovery order.
States are stored canonical (with symmetry on, the search's option, the
model's `canonical`; the function used is Exploration.canonical) with a
parent link each; a trace is rebuilt later by re-executing the model
along the chain (checker/engine/trace.py), so no labels or full paths are kept.

With `workers > 1` each level's frontier is cut into contiguous chunks that
worker processes expand (successors, canonical forms, property checks); the
parent process merges their answers in frontier order. The visited set and
the numbering of states live in the parent only, so the states, counts and
counterexamples are the same for every worker count. Nothing depends on
hash order: dictionaries are only looked up, and lists keep discovery order.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from array import array
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from checker.engine import snapshot
from checker.engine.protocol import identity, reduction
from specs.property import ACTION, INVARIANT, Property

if TYPE_CHECKING:
    from checker.engine.checkpoint import SearchCheckpoint

STOP_DEPTH = "depth"  # reached --depth; deeper states were not expanded
STOP_EXHAUSTED = "exhausted"  # no new state: the reachable space is explored
STOP_MAX_STATES = "max-states"
STOP_INTERRUPTED = "interrupted"
STOP_ALL_FAILED = "all-failed"  # every checked property already has a counterexample


@dataclass
class Violation:
    property: str
    message: str
    state: int  # the violating state, or for an action property the source of the step
    depth: int
    next_state: Any = None  # action properties: the canonical state the step leads to


@dataclass
class Progress:
    states: int
    transitions: int
    depth: int
    frontier: int
    elapsed: float


@dataclass
class Exploration:
    # The arrays are array.array here; the compiled and the distributed
    # searches give numpy arrays and their own sequences (typed Any).
    states: Any = field(default_factory=list)
    parent: Any = field(default_factory=lambda: array("q"))
    level_start: list[int] = field(default_factory=list)  # first state index of each depth
    transitions: int = 0
    truncated_states: int = 0
    deadlocks: int = 0
    stopped: str = ""
    violations: dict[str, Violation] = field(default_factory=dict)
    elapsed: float = 0.0
    stop_reason: str = ""  # why an interrupted search stopped, when not Ctrl-C
    checked: list[str] = field(default_factory=list)
    expanded: int = 0  # states whose successors were computed
    # The state graph, when asked for (liveness): edges with the fairness
    # groups they count for, and per state the groups enabled in it, its
    # atoms (specs/liveness.py) and whether its successors were computed.
    graph: bool = False
    edge_src: Any = field(default_factory=lambda: array("I"))
    edge_dst: Any = field(default_factory=lambda: array("I"))
    edge_groups: Any = field(default_factory=lambda: array("Q"))
    enabled: Any = field(default_factory=lambda: array("Q"))
    atoms: Any = field(default_factory=lambda: array("Q"))
    is_expanded: bytearray = field(default_factory=bytearray)
    is_final: bytearray = field(default_factory=bytearray)
    # How a stored state is told: by its canonical bytes, or (a compiled
    # search without --exact) by its 64-bit fingerprint. `key_of` gives the
    # key of a canonical state, `keys_of` the keys of stored states by number.
    key_of: Callable[[Any], Any] = field(default=lambda c: c, repr=False)
    # The canonical form the states are stored in: the model's under
    # symmetry, else the identity (checker/engine/protocol.py reduction).
    canonical: Callable[[Any], Any] = field(default=identity, repr=False)
    keys_of: Callable[[list[int]], list[Any]] | None = field(default=None, repr=False)
    fingerprints: bool = False
    kernel: str = "python"
    partitions: int = 0  # a distributed search: how many workers held the states
    # (actor, pc) -> the states from which the actor took a step at pc
    # (macro steps' inner states included), summed over the workers.
    coverage: dict[tuple[int, int], int] = field(default_factory=dict)
    # (actor, pc) -> the states in which a model bound cut a step of the actor
    # at pc off (STARTM: the M bound; RUN: the goroutine slots).
    cuts: dict[tuple[int, int], int] = field(default_factory=dict)
    search: Any = field(default=None, repr=False)  # the compiled search, when one ran

    @property
    def depth_reached(self) -> int:
        return max(0, len(self.level_start) - 1)

    @property
    def exhausted(self) -> bool:
        return self.stopped == STOP_EXHAUSTED

    @property
    def complete(self) -> bool:
        """Every reachable state was explored (no depth cut, no model bound hit)."""
        return self.exhausted and self.truncated_states == 0

    def depth_of(self, idx: int) -> int:
        lo, hi = 0, len(self.level_start) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.level_start[mid] <= idx:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def key(self, state: Any) -> Any:
        """The key under which the search stores a concrete state."""
        return self.key_of(self.canonical(state))

    def keys(self, indices: list[int]) -> list[Any]:
        """The keys (see key_of) of the states numbered `indices`."""
        if self.keys_of is not None:
            return self.keys_of(indices)
        return [self.states[i] for i in indices]

    def path_to(self, idx: int) -> list[int]:
        path = []
        while idx >= 0:
            path.append(idx)
            idx = self.parent[idx]
        path.reverse()
        return path


# ---- the work of expanding states (run in the parent or in workers) ----------

_MODEL: Any = None
_CANONICAL: Callable[[Any], Any] = identity
_PROPS: list[Property] = []
_GRAPH = False
# Canonical forms of successors already seen in this process: the same
# concrete successor is reached from many states, and canonicalizing is the
# dearest part of a step. Bounded; cleared when full.
_CANON: dict[Any, Any] = {}
_CANON_LIMIT = 1_000_000


def _set_model(model: Any, canonical: Callable, props: list[Property], graph: bool) -> None:
    global _MODEL, _CANONICAL, _PROPS, _GRAPH
    _MODEL, _CANONICAL, _PROPS, _GRAPH = model, canonical, props, graph
    _CANON.clear()


def _expand(task: tuple[list[Any], bool, frozenset[str]]) -> tuple[list[tuple], tuple]:
    """For each state: its distinct canonical successors, whether a model
    bound cut a step, whether it is a deadlock, and the violations found
    (invariants on the state, action properties on its steps); and the
    coverage of the chunk ((actor, pc) -> states that took a step there) and
    its cuts ((actor, pc) -> states in which a bound cut a step off)."""
    model = _MODEL
    cover: dict[tuple[int, int], int] = {}
    cuts: dict[tuple[int, int], int] = {}
    had = getattr(model, "coverage", None), getattr(model, "cuts", None)
    model.coverage, model.cuts = cover, cuts
    try:
        return _expand_states(model, task), (cover, cuts)
    finally:
        model.coverage, model.cuts = had


def _expand_states(model: Any, task: tuple[list[Any], bool, frozenset[str]]) -> list[tuple]:
    states, expand, active = task
    # (id, check) pairs bound once per chunk: the checks run on every state.
    checked = [p for p in _PROPS if p.id in active]
    invariants = [(p.id, p.check) for p in checked if p.kind == INVARIANT and p.check]
    actions = [(p.id, p.check) for p in checked if p.kind == ACTION and p.check]
    check_deadlock = "deadlock" in active
    graph = _GRAPH
    if graph:
        from specs.liveness import atoms

        edge_groups = getattr(model, "edge_groups", None)
    canonical = _CANONICAL
    cache = _CANON
    if len(cache) > _CANON_LIMIT:
        cache.clear()
    out: list[tuple] = []
    for t in states:
        found = []
        for pid, check in invariants:
            msg = check(model, t)
            if msg is not None:
                found.append((pid, msg, None))
        extra: tuple = ()
        if graph:
            strong = model.state_groups(t) if hasattr(model, "state_groups") else 0
            extra = (atoms(model, t), model.is_final(t), strong)
        if not expand:
            out.append(((), False, False, found, (), *extra))
            continue
        succ, truncated = model.successors(t)
        seen_here: dict[Any, int] = {}
        for actor, label, u in succ:
            c = cache.get(u)
            if c is None:
                c = cache[u] = canonical(u)
            if graph:
                g = edge_groups(actor, label) if edge_groups else 1 << actor
                seen_here[c] = seen_here.get(c, 0) | g
            elif c not in seen_here:
                seen_here[c] = 0
            for pid, check in actions:
                msg = check(model, t, label, u)
                if msg is not None:
                    found.append((pid, msg, c))
        dead = check_deadlock and not succ and not truncated and not model.is_final(t)
        groups = tuple(seen_here.values()) if graph else ()
        out.append((tuple(seen_here), truncated, dead, found, groups, *extra))
    return out


def explore(
    model: Any,
    props: list[Property],
    *,
    depth: int,
    workers: int = 1,
    max_states: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    graph: bool = False,
    checkpoint: SearchCheckpoint | None = None,
    symmetry: bool = True,
) -> Exploration:
    """Breadth-first search to `depth` (0: until no new state). With `graph`,
    keep the edges and what liveness needs (Exploration.edge_* and friends).
    With `checkpoint`, continue from its last checkpoint if it has one, and
    write checkpoints as it goes (checker/engine/checkpoint.py). With
    `symmetry`, states are stored in the model's canonical form."""
    ex = Exploration(graph=graph, canonical=reduction(model, symmetry))
    ex.checked = [p.id for p in props]
    active = {p.id for p in props}
    start = time.monotonic()
    d, prior_s, index, frontier = _first_level(ex, model, active, checkpoint)
    _set_model(model, ex.canonical, props, graph)
    pool = _open_pool(workers)
    finished_before = bool(ex.stopped)  # a resumed search that had finished
    mark: dict | None = None  # the search as each level began, for a checkpoint
    try:
        if pool is not None:
            from checker.signals import start_pool

            start_pool(pool)
        while frontier:
            if checkpoint is not None:
                mark = snapshot.mark(ex, active, d, prior_s + time.monotonic() - start)
                _save_if_due(checkpoint, ex, mark)
            expand = depth == 0 or d < depth
            new_frontier: list[int] = []
            for idx_chunk, (results, (cover, cuts)) in _run_level(
                pool, workers, ex, frontier, expand, active
            ):
                _add_counts(ex.coverage, cover)
                _add_counts(ex.cuts, cuts)
                level = (d, expand, max_states)
                _merge_chunk(ex, index, active, idx_chunk, results, level, new_frontier)
                if progress is not None:
                    elapsed = time.monotonic() - start
                    progress(Progress(len(ex.states), ex.transitions, d, len(frontier), elapsed))
                if ex.stopped:
                    break
            ex.stopped = _level_stop(ex, props, active, expand, new_frontier)
            if ex.stopped:
                break
            frontier = new_frontier
            d += 1
            ex.level_start.append(frontier[0])
    except KeyboardInterrupt:
        ex.stopped = STOP_INTERRUPTED
    except BrokenProcessPool:
        from checker.signals import pool_failure

        ex.stopped = STOP_INTERRUPTED
        ex.stop_reason = pool_failure(pool)
    except MemoryError:
        ex.stopped = STOP_INTERRUPTED
        ex.stop_reason = f"out of memory after {len(ex.states):,} distinct states"
    finally:
        _close_pool(pool, ex)
    if not ex.stopped:
        ex.stopped = STOP_EXHAUSTED
    ex.elapsed = prior_s + time.monotonic() - start
    if checkpoint is not None and not finished_before:
        _last_checkpoint(checkpoint, ex, active, d, mark)
    return ex


def _save_if_due(checkpoint: SearchCheckpoint, ex: Exploration, mark: dict) -> None:
    """Write the search as a level begins when a checkpoint is due; an
    interrupt that came while it was written stops the search there (the
    caller holds `mark` already: the last checkpoint is this one)."""
    if checkpoint.due():
        snapshot.save(checkpoint, ex, mark)
        if checkpoint.run.interrupted:
            raise KeyboardInterrupt


def _last_checkpoint(
    checkpoint: SearchCheckpoint, ex: Exploration, active: set[str], d: int, mark: dict | None
) -> None:
    """A search that stopped of itself is written complete; an interrupted
    one as its last level began (the states of a level half done are not)."""
    if ex.stopped != STOP_INTERRUPTED:
        mark = snapshot.mark(ex, active, d, ex.elapsed, complete=True)
    if mark is not None:
        snapshot.save(checkpoint, ex, mark)


def _first_level(
    ex: Exploration, model: Any, active: set[str], checkpoint: SearchCheckpoint | None
) -> tuple[int, float, dict[Any, int], list[int]]:
    """Where the search begins: the checkpoint's level (a finished search
    has no frontier), or depth 0. Returns the level, the time spent before,
    the index of the visited states and the frontier."""
    resumed = checkpoint.load() if checkpoint is not None else None
    if resumed is None:
        return 0, 0.0, *_initial_level(ex, model)
    d, prior_s = snapshot.restore(ex, active, *resumed)
    index = {c: i for i, c in enumerate(ex.states)}
    frontier = [] if ex.stopped else list(range(ex.level_start[d], len(ex.states)))
    return d, prior_s, index, frontier


def _initial_level(ex: Exploration, model: Any) -> tuple[dict[Any, int], list[int]]:
    """Number the model's distinct canonical initial states, depth 0; returns
    the index of the visited states and the first frontier."""
    init = []
    for s in model.initial_states():
        c = ex.canonical(s)
        if c not in init:
            init.append(c)
    index: dict[Any, int] = {}
    for c in init:
        index[c] = len(ex.states)
        ex.states.append(c)
        ex.parent.append(-1)
        if ex.graph:
            ex.atoms.append(0)
            ex.enabled.append(0)
            ex.is_expanded.append(0)
            ex.is_final.append(0)
    ex.level_start.append(0)
    return index, list(range(len(init)))


def _open_pool(workers: int) -> ProcessPoolExecutor | None:
    """The worker processes, or None for one worker. A pool that reports a
    dead worker (BrokenProcessPool) instead of waiting for its result for
    ever; workers leave signals to the parent."""
    if workers <= 1:
        return None
    from checker.signals import worker_init

    ctx = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init)


def _close_pool(pool: ProcessPoolExecutor | None, ex: Exploration) -> None:
    """An interrupted search kills its workers; a finished one waits for them."""
    if pool is None:
        return
    from checker.signals import terminate_pool

    if ex.stopped == STOP_INTERRUPTED:
        terminate_pool(pool)
    else:
        pool.shutdown(wait=True)


def _add_counts(into: dict[tuple[int, int], int], counts: dict[tuple[int, int], int]) -> None:
    """A chunk's coverage or cuts, summed into the search's."""
    for key, n in counts.items():
        into[key] = into.get(key, 0) + n


def _merge_chunk(
    ex: Exploration,
    index: dict[Any, int],
    active: set[str],
    idx_chunk: list[int],
    results: list[tuple],
    level: tuple[int, bool, int | None],
    new_frontier: list[int],
) -> None:
    """One chunk's answers (_expand), in frontier order: its violations and
    counts, the new states numbered and put on the next frontier, the graph's
    edges. Sets ex.stopped when the state bound is reached."""
    d, expand, max_states = level
    graph = ex.graph
    states, parent = ex.states, ex.parent
    for idx, (succs, truncated, dead, found, groups, *extra) in zip(
        idx_chunk, results, strict=True
    ):
        for pid, msg, nxt in found:
            if pid in active:
                active.discard(pid)
                ex.violations[pid] = Violation(pid, msg, idx, d, nxt)
        if dead and "deadlock" in active:
            active.discard("deadlock")
            ex.violations["deadlock"] = Violation(
                "deadlock", "no step is enabled and not every goroutine has exited", idx, d
            )
        if dead:
            ex.deadlocks += 1
        if truncated:
            ex.truncated_states += 1
        if graph:
            ex.atoms[idx], ex.is_final[idx] = extra[0], extra[1]
            ex.enabled[idx] = extra[2]
        if not expand:
            continue
        ex.expanded += 1
        ex.transitions += len(succs)
        for c in succs:
            if c not in index:
                index[c] = len(states)
                states.append(c)
                parent.append(idx)
                new_frontier.append(index[c])
                if graph:
                    ex.atoms.append(0)
                    ex.enabled.append(0)
                    ex.is_expanded.append(0)
                    ex.is_final.append(0)
        if graph:
            ex.is_expanded[idx] = 0 if truncated else 1
            en = ex.enabled[idx]
            for c, g in zip(succs, groups, strict=True):
                ex.edge_src.append(idx)
                ex.edge_dst.append(index[c])
                ex.edge_groups.append(g)
                en |= g
            ex.enabled[idx] = en
        # The bound is checked state by state, so where the search stops does
        # not depend on how the frontier was cut up.
        if max_states is not None and len(states) >= max_states:
            ex.stopped = STOP_MAX_STATES
            return


def _level_stop(
    ex: Exploration, props: list[Property], active: set[str], expand: bool, new_frontier: list[int]
) -> str:
    """Why the search stops after this level ("" to go on to the next)."""
    if ex.stopped:
        return ex.stopped
    if props and not active:
        return STOP_ALL_FAILED
    if not expand:
        return STOP_DEPTH
    if not new_frontier:
        return STOP_EXHAUSTED
    return ""


def _run_level(pool, workers: int, ex: Exploration, frontier: list[int], expand: bool, active):
    """Yield (indices, results) chunk by chunk, in frontier order."""
    act = frozenset(active)
    chunk = 512 if pool is None else max(64, min(4096, len(frontier) // (workers * 4) + 1))
    chunks = [frontier[i : i + chunk] for i in range(0, len(frontier), chunk)]
    if pool is None or len(frontier) < 256:
        for c in chunks:
            yield c, _expand(([ex.states[i] for i in c], expand, act))
        return
    from checker.signals import pool_results

    futures = [pool.submit(_expand, ([ex.states[i] for i in c], expand, act)) for c in chunks]
    # In short waits: a worker that dies, even mid-result, ends the level.
    yield from zip(chunks, pool_results(pool, futures), strict=True)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
