"""Breadth-first search on the compiled kernel.

The same search as checker/engine/explore.py, state for state: the same numbering
(states in discovery order, each level in frontier order, each state's
successors in the model's order), the same first violation of every
property, the same stop rules. What differs is where the work happens:
phase A of each chunk of the frontier (properties, successors, canonical
forms, fingerprints) runs in C, in `workers` threads at once (the C calls
release the GIL); phase B (numbering the new states) runs in C in frontier
order, so the result does not depend on the number of threads.

The visited set holds 64-bit fingerprints (engine.c), or with `exact` the
canonical states too. Counterexamples are rebuilt by re-executing the
Python model and matching fingerprints (checker/engine/trace.py), and their
properties checked again on the rebuilt states, so a fingerprint collision
can cost a state, never produce a false counterexample.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from checker.engine.checkpoint import restore_search_fields
from checker.engine.explore import (
    STOP_ALL_FAILED,
    STOP_DEPTH,
    STOP_EXHAUSTED,
    STOP_INTERRUPTED,
    STOP_MAX_STATES,
    Exploration,
    Progress,
    Violation,
)
from checker.engine.protocol import has_symmetry, reduction
from checker.kernel import snapshot
from checker.kernel.build import Kernel
from checker.kernel.compiled import CompiledSearch, StoredStates
from specs.property import ACTION, INVARIANT, Property

if TYPE_CHECKING:
    from checker.engine.checkpoint import SearchCheckpoint

# States per phase-A call: large enough that a call outweighs the thread
# hand-off and the Python around it (4,096 gave 1.56x with two workers at
# --cores 4 --depth 19, 16,384 1.73x, 65,536 1.71x and 50 % more memory),
# small enough that Ctrl-C and progress lines stay prompt (a chunk is
# about 0.06 s of one worker).
CHUNK = 16384


class KernelError(RuntimeError):
    """The compiled search met a state it cannot decide the way the Python
    model would (a byte out of its type, a step or check the model would
    fail on): the caller falls back to the Python kernel."""


ERRORS = {
    1: "a step the Python model would fail on",
    2: "a step wrote a value outside its field's type",
    4: "a property check the Python model would fail on",
    5: "out of memory",
    8: "a macro step ran too long",
}


def _error_text(code: int) -> str:
    if code == 5:
        return ERRORS[5]
    return "; ".join(t for b, t in ERRORS.items() if b != 5 and code & b) or f"error {code}"


class _Done:
    """A finished call, for the one-worker path (no pool)."""

    def __init__(self, value: int):
        self.value = value

    def result(self) -> int:
        return self.value


def explore_compiled(
    kernel: Kernel,
    model: Any,
    props: list[Property],
    *,
    depth: int,
    workers: int = 1,
    max_states: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    graph: bool = False,
    exact: bool = False,
    checkpoint: SearchCheckpoint | None = None,
    symmetry: bool = True,
) -> Exploration:
    """The breadth-first search of checker/engine/explore.py, on the compiled
    kernel; with `symmetry`, under the model's symmetry if it has one."""
    bits = _property_bits(kernel.meta, props)
    symmetry = symmetry and has_symmetry(model)
    s = CompiledSearch(kernel, model, graph=graph, symmetry=symmetry, exact=exact, workers=workers)
    ex = Exploration(graph=graph, canonical=reduction(model, symmetry))
    ex.checked = [p.id for p in props]
    active = {p.id for p in props}
    found = _Found(s, bits, active)
    start = time.monotonic()
    d, prior_s, n = _first_level(s, ex, model, active, found, checkpoint)
    finished_before = bool(ex.stopped)  # a resumed search that had finished
    phases = _Phases(s, found, max_states or 0)
    mark: dict | None = None  # the search as each level began, for a checkpoint

    def mark_now(complete: bool = False) -> dict:
        elapsed = prior_s + time.monotonic() - start
        return snapshot.mark(s, ex, active, d, found.snapshot(), elapsed, complete)

    def report(st: list[int], frontier: int) -> None:
        if progress is not None:
            progress(Progress(st[0], st[1], d, frontier, time.monotonic() - start))

    try:
        while n:
            if checkpoint is not None:
                mark = mark_now()
                if checkpoint.due():
                    snapshot.save(checkpoint, s, mark)
                    if checkpoint.run.interrupted:
                        raise KeyboardInterrupt
            expand = depth == 0 or d < depth
            if phases.level(n, d, expand, report):
                ex.stopped = STOP_MAX_STATES
                break
            if props and not active:
                ex.stopped = STOP_ALL_FAILED
                break
            if not expand:
                ex.stopped = STOP_DEPTH
                break
            n = s.lib.eng_next_level(s.e)
            if not n:
                ex.stopped = STOP_EXHAUSTED
                break
            d += 1
            ex.level_start.append(s.stat(0) - n)
    except KeyboardInterrupt:
        ex.stopped = STOP_INTERRUPTED
    finally:
        phases.close()  # no C call may outlive the engine
    if not ex.stopped:
        ex.stopped = STOP_EXHAUSTED
    ex.elapsed = prior_s + time.monotonic() - start
    if checkpoint is not None and not finished_before:
        if ex.stopped != STOP_INTERRUPTED:
            mark = mark_now(complete=True)
        if mark is not None:
            snapshot.save(checkpoint, s, mark)
    _read_results(ex, s, model, exact)
    found.into(ex)
    _fill_messages(ex, model, {p.id: p for p in props})
    return ex


def _first_level(
    s: CompiledSearch,
    ex: Exploration,
    model: Any,
    active: set[str],
    found: _Found,
    checkpoint: SearchCheckpoint | None,
) -> tuple[int, float, int]:
    """Where the search begins: the checkpoint's level (a finished search
    has no frontier), or the model's initial states at depth 0. Returns the
    level, the time spent before and the size of the frontier."""
    resumed = checkpoint.load() if checkpoint is not None else None
    if resumed is not None:
        saved = snapshot.restore(s, *resumed)
        d, prior_s = restore_search_fields(ex, active, saved)
        found.inv, found.act, found.dead = saved["found"]
        return d, prior_s, 0 if ex.stopped else s.stat(7)
    for st in model.initial_states():
        if s.lib.eng_add_initial(s.e, st) < 0:
            raise MemoryError("the compiled engine ran out of memory")
    n = s.lib.eng_next_level(s.e)
    ex.level_start.append(0)
    return 0, 0.0, n


def _property_bits(meta: dict, props: list[Property]) -> tuple[dict[str, int], dict[str, int]]:
    """Each checked invariant's and action property's bit in the kernel's
    masks; a property the kernel was built without is a KernelError."""
    inv_bits = {pid: i for i, pid in enumerate(meta["invariants"])}
    act_bits = {pid: i for i, pid in enumerate(meta["actions"])}
    for p in props:
        if p.kind == INVARIANT and p.id not in inv_bits:
            raise KernelError(f"the kernel was built without property {p.id}")
        if p.kind == ACTION and p.id not in act_bits:
            raise KernelError(f"the kernel was built without property {p.id}")
    return inv_bits, act_bits


class _Found:
    """The first violation of each property, as the engine reports them:
    (state, depth), and for an action property the canonical state the step
    leads to. A property found is no longer checked (`active`)."""

    def __init__(
        self, s: CompiledSearch, bits: tuple[dict[str, int], dict[str, int]], active: set[str]
    ):
        self.inv_bits, self.act_bits = bits
        self.s, self.active = s, active
        self.inv: dict[str, tuple[int, int]] = {}
        self.act: dict[str, tuple[int, int, bytes]] = {}
        self.dead: tuple[int, int] | None = None
        self._idx = s.ffi.new("int64_t *")
        self._dep = s.ffi.new("int64_t *")
        self._nxt = s.ffi.new("uint8_t[]", s.size)

    def masks(self) -> tuple[int, int, int]:
        """The properties still checked, as the engine's bit masks."""
        active = self.active
        inv = sum(1 << self.inv_bits[pid] for pid in active if pid in self.inv_bits)
        act = sum(1 << self.act_bits[pid] for pid in active if pid in self.act_bits)
        return inv, act, int("deadlock" in active)

    def collect(self) -> None:
        """The violations the engine found since the last call."""
        s, lib, active = self.s, self.s.lib, self.active
        idx_, dep_, nxt_ = self._idx, self._dep, self._nxt
        for pid, b in self.inv_bits.items():
            if pid in active and pid not in self.inv and lib.eng_violation_inv(s.e, b, idx_, dep_):
                self.inv[pid] = (int(idx_[0]), int(dep_[0]))
                active.discard(pid)
        for pid, b in self.act_bits.items():
            if pid in active and pid not in self.act:
                if lib.eng_violation_act(s.e, b, idx_, dep_, nxt_):
                    self.act[pid] = (int(idx_[0]), int(dep_[0]), bytes(s.ffi.buffer(nxt_)))
                    active.discard(pid)
        if "deadlock" in active and self.dead is None:
            if lib.eng_violation_dead(s.e, idx_, dep_):
                self.dead = (int(idx_[0]), int(dep_[0]))
                active.discard("deadlock")

    def snapshot(self) -> tuple:
        """What a checkpoint keeps of them (snapshot.mark)."""
        return dict(self.inv), dict(self.act), self.dead

    def into(self, ex: Exploration) -> None:
        """The search's violations (their messages come after, _fill_messages)."""
        for pid, (idx, dep) in self.inv.items():
            ex.violations[pid] = Violation(pid, "", idx, dep)
        for pid, (idx, dep, nxt) in self.act.items():
            ex.violations[pid] = Violation(pid, "", idx, dep, nxt)
        if self.dead is not None:
            ex.violations["deadlock"] = Violation(
                "deadlock",
                "no step is enabled and not every goroutine has exited",
                self.dead[0],
                self.dead[1],
            )


class _Phases:
    """A level's frontier in chunks: phase A (properties, successors,
    canonical forms, fingerprints) in the workers' threads, phase B
    (numbering the new states) in frontier order."""

    def __init__(self, s: CompiledSearch, found: _Found, limit: int):
        self.s, self.found, self.limit = s, found, limit
        self.workers = s.workers
        self.pool = ThreadPoolExecutor(max_workers=s.workers) if s.workers > 1 else None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def launch(self, pos: int, n: int, expand: bool, round_: int) -> tuple[list, list, int]:
        """Phase A of the next chunks: one part per worker, in the round's
        half of the engine's slots (the other half may still be in phase B)."""
        s, workers = self.s, self.workers
        inv, act, dead = self.found.masks()
        per = max(min(256, CHUNK), min(CHUNK, (n - pos + workers - 1) // workers))
        base = (round_ % 2) * workers if workers > 1 else 0
        parts = []
        for w in range(workers):
            lo = pos + w * per
            if lo >= n:
                break
            parts.append((base + w, lo, min(per, n - lo)))
        args = [(s.e, slot, lo, cnt, int(expand), inv, act, dead) for slot, lo, cnt in parts]
        futures: list[Any]
        if self.pool is not None:
            futures = [self.pool.submit(s.lib.eng_phase_a, *a) for a in args]
        else:
            futures = [_Done(s.lib.eng_phase_a(*a)) for a in args]
        return parts, futures, pos + sum(c for _, _, c in parts)

    def level(self, n: int, d: int, expand: bool, report: Callable[[list[int], int], None]) -> bool:
        """The frontier of `n` states at depth `d`, chunk by chunk; True when
        the state bound stopped it."""
        s, lib, limit, pool = self.s, self.s.lib, self.limit, self.pool
        round_ = 0
        in_flight: list = []
        cur: tuple[list, list, int] | None = self.launch(0, n, expand, round_)
        stopped = False
        while cur is not None:
            parts, futures, next_pos = cur
            in_flight = futures
            for code in [f.result() for f in futures]:
                if code == 5:
                    raise MemoryError("the compiled engine ran out of memory")
                if code:
                    raise KernelError(_error_text(code))
            # With a pool, the next chunks' phase A runs while this one's
            # phase B does (in the other half of the slots); one worker has
            # one slot, so it goes on after phase B.
            round_ += 1
            cur = None
            if pool is not None and next_pos < n:
                cur = self.launch(next_pos, n, expand, round_)
                in_flight = cur[1]
            for slot, lo, cnt in parts:
                done = lib.eng_phase_b(s.e, slot, lo, d, limit)
                if done < 0:
                    raise MemoryError("the compiled engine ran out of memory")
                if done < cnt or (limit and s.stat(0) >= limit):
                    stopped = True
                    break
            self.found.collect()
            report(s.stats(), n)
            if stopped:
                break
            if pool is None and next_pos < n:
                cur = self.launch(next_pos, n, expand, round_)
        for f in in_flight:  # a stop leaves the next chunks' phase A running
            f.result()
        return stopped


def _read_results(ex: Exploration, s: CompiledSearch, model: Any, exact: bool) -> None:
    """What the engine holds at the end, into the exploration: its counts,
    parents, states (or their fingerprints), coverage, cuts, graph."""
    st = s.stats()
    ex.transitions, ex.truncated_states, ex.deadlocks, ex.expanded = st[1], st[2], st[3], st[4]
    ex.parent = s.parents()
    ex.states = StoredStates(s)
    ex.search = s
    ex.coverage = s.coverage()
    ex.cuts = s.cuts()
    if not exact:
        ex.key_of = s.fingerprint
        ex.keys_of = lambda idxs: [s.fingerprints_of(list(idxs))[i] for i in idxs]
        ex.fingerprints = True
    if ex.graph:
        _graph_arrays(ex, s, model)


def _graph_arrays(ex: Exploration, s: CompiledSearch, model: Any) -> None:
    """The state graph as arrays over the engine's own memory (no copies):
    one edge per pair of states, sorted by source, with the fairness groups
    of every step between them (from the steps' actions, by the model's own
    edge_groups), and per state the groups enabled, its atoms and flags."""
    from checker.engine.fairness import edge_groups_of

    n = s.stat(0)
    n_labels = s.stat(6)
    groups = np.zeros(max(1, n_labels), dtype=np.uint64)
    for lid in range(n_labels):
        actor, action = s.label(lid)
        groups[lid] = edge_groups_of(model, actor, action)
    ptr = s.ffi.cast("uint64_t *", groups.ctypes.data)
    n_edges = int(s.lib.eng_graph_finish(s.e, ptr, n_labels))
    if n_edges < 0:
        raise MemoryError("the compiled engine ran out of memory")
    nrow = int(s.lib.eng_nrow(s.e))
    row = s.view(s.lib.eng_row(s.e), np.uint64, nrow)
    counts = np.diff(row.view(np.int64)) if nrow > 1 else np.zeros(0, dtype=np.int64)
    counts = counts.astype(np.int64)
    ex.edge_src = np.repeat(np.arange(len(counts), dtype=np.uint32), counts)
    ex.edge_dst = s.view(s.lib.eng_col(s.e), np.uint32, n_edges)
    ex.edge_groups = s.view(s.lib.eng_egroups(s.e), np.uint64, n_edges)
    ex.enabled = s.view(s.lib.eng_strong(s.e), np.uint64, n)
    ex.atoms = s.view(s.lib.eng_atoms(s.e), np.uint64, n)
    flags = s.view(s.lib.eng_flags(s.e), np.uint8, n)
    ex.is_expanded = bytearray((flags & 1).tobytes())
    ex.is_final = bytearray(((flags >> 1) & 1).tobytes())


def _fill_messages(ex: Exploration, model: Any, by_id: dict[str, Property]) -> None:
    """Each violation's one-line reason, from the property's own check on the
    state the search found (re-executed: the engine keeps no states)."""
    from checker.engine.trace import rebuild_path

    for pid, v in ex.violations.items():
        if v.message:
            continue
        prop = by_id[pid]
        steps = rebuild_path(model, ex.keys(ex.path_to(v.state)), ex.key)
        t = ex.canonical(steps[-1].state)
        if prop.kind == INVARIANT:
            v.message = prop.reason(model, t) or ""
        else:
            for _actor, label, u in model.successors(t)[0]:
                if ex.key(u) == ex.key_of(v.next_state):
                    msg = prop.reason(model, t, label, u)
                    if msg is not None:
                        v.message = msg
                        break
        if not v.message:
            raise KernelError(f"the compiled kernel and the model disagree on {pid}")
