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
from collections.abc import Callable, Iterator
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
from checker.kernel import snapshot
from checker.kernel.actions import label_action
from checker.kernel.build import Kernel, ffi
from model.action import Action
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


class StoredStates:
    """The states of a compiled search: their number, and with `exact` the
    canonical bytes of each."""

    def __init__(self, search: CompiledSearch):
        self._s = search

    def __len__(self) -> int:
        return self._s.stat(0)

    def __getitem__(self, i: int) -> bytes:
        # Bounded: iterating (enumerate, a comprehension) goes by __getitem__
        # until IndexError, and a read past the last state would be past the
        # engine's buffer.
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"state {i} of {n}")
        return self._s.state_bytes(i)

    def __iter__(self) -> Iterator[bytes]:
        return (self._s.state_bytes(i) for i in range(len(self)))


class CompiledSearch:
    def __init__(
        self,
        kernel: Kernel,
        model: Any,
        *,
        graph: bool,
        symmetry: bool,
        exact: bool,
        workers: int,
    ):
        self.k, self.lib, self.ffi = kernel, kernel.lib, ffi()
        self.model = model
        self.size = kernel.meta["size"]
        self.graph, self.exact = graph, exact
        self.workers = max(1, workers)
        # Two sets of worker slots: one in phase B while the other is in phase A.
        slots = 2 * self.workers if self.workers > 1 else 1
        e = self.lib.eng_new(int(model.macro), int(graph), int(symmetry), int(exact), slots)
        if e == self.ffi.NULL:
            raise MemoryError("the compiled engine could not allocate its tables")
        self.e = self.ffi.gc(e, self.lib.eng_free)
        self._stats = self.ffi.new("int64_t[10]")
        self._labels: list[tuple[int, Action]] = []  # per label id: (actor, action)
        self._fp_index: dict[int, int] = {}

    # ---- reading the engine --------------------------------------------------------

    def stat(self, i: int) -> int:
        self.lib.eng_stats(self.e, self._stats)
        return int(self._stats[i])

    def stats(self) -> list[int]:
        self.lib.eng_stats(self.e, self._stats)
        return [int(x) for x in self._stats]

    def memory(self) -> tuple[int, int, int]:
        out = self.ffi.new("int64_t[3]")
        self.lib.eng_memory(self.e, out)
        return int(out[0]), int(out[1]), int(out[2])

    def view(self, ptr: Any, dtype: Any, n: int) -> np.ndarray:
        """The engine's array, read in place (valid while the engine lives:
        the exploration keeps it)."""
        if n == 0 or ptr == self.ffi.NULL:
            return np.zeros(0, dtype=dtype)
        itemsize = np.dtype(dtype).itemsize
        return np.frombuffer(self.ffi.buffer(ptr, n * itemsize), dtype=dtype)

    def parents(self) -> np.ndarray:
        n = self.stat(0)
        p = self.view(self.lib.eng_parent(self.e), np.uint32, n).astype(np.int64)
        p[p == 0xFFFFFFFF] = -1
        return p

    def state_bytes(self, i: int) -> bytes:
        if not self.exact:
            raise KeyError("the states are stored as fingerprints (run with --exact to keep them)")
        return bytes(self.ffi.buffer(self.lib.eng_states(self.e) + i * self.size, self.size))

    def fingerprint(self, c: bytes) -> int:
        return int(self.lib.k_fingerprint(c))

    def fingerprints_of(self, indices: list[int]) -> dict[int, int]:
        """The fingerprint of each state number asked for."""
        missing = [i for i in indices if i not in self._fp_index]
        if missing:
            cap = self.stat(8)
            fp = np.frombuffer(self.ffi.buffer(self.lib.eng_table_fp(self.e), cap * 8), np.uint64)
            idx = np.frombuffer(self.ffi.buffer(self.lib.eng_table_idx(self.e), cap * 4), np.uint32)
            hit = np.isin(idx, np.array(missing, dtype=np.uint32)) & (fp != 0)
            for f, i in zip(fp[hit].tolist(), idx[hit].tolist(), strict=True):
                self._fp_index[int(i)] = int(f)
        return {i: self._fp_index[i] for i in indices}

    def label(self, lid: int) -> tuple[int, Action]:
        """(actor, action) of a label id."""
        while len(self._labels) <= lid:
            self._labels.append(
                label_action(self.lib, self.ffi, self.e, self.k.meta, len(self._labels))
            )
        return self._labels[lid]

    def coverage(self) -> dict[tuple[int, int], int]:
        """(actor, program counter) -> the states from which the actor took a
        step there (inner states of macro steps included)."""
        n = self.model.L.nA * 256
        out = self.ffi.new("uint64_t[]", n)
        self.lib.eng_coverage(self.e, out)
        got = np.frombuffer(self.ffi.buffer(out, n * 8), np.uint64)
        return {(int(i) // 256, int(i) % 256): int(got[i]) for i in np.flatnonzero(got)}

    def cuts(self) -> dict[tuple[int, int], int]:
        """(actor, program counter) -> the states in which a bound of the
        configuration cut a step of the actor there off."""
        n = self.model.L.nA * 256
        out = self.ffi.new("uint64_t[]", n)
        self.lib.eng_cuts(self.e, out)
        got = np.frombuffer(self.ffi.buffer(out, n * 8), np.uint64)
        return {(int(i) // 256, int(i) % 256): int(got[i]) for i in np.flatnonzero(got)}


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
) -> Exploration:
    """The breadth-first search of checker/engine/explore.py, on the compiled kernel."""
    meta = kernel.meta
    inv_bits = {pid: i for i, pid in enumerate(meta["invariants"])}
    act_bits = {pid: i for i, pid in enumerate(meta["actions"])}
    for p in props:
        if p.kind == INVARIANT and p.id not in inv_bits:
            raise KernelError(f"the kernel was built without property {p.id}")
        if p.kind == ACTION and p.id not in act_bits:
            raise KernelError(f"the kernel was built without property {p.id}")
    symmetry = getattr(model, "symmetry", None) is not None
    s = CompiledSearch(kernel, model, graph=graph, symmetry=symmetry, exact=exact, workers=workers)
    lib = s.lib
    ex = Exploration(graph=graph)
    ex.checked = [p.id for p in props]
    active = {p.id for p in props}
    start = time.monotonic()

    found_inv: dict[str, tuple[int, int]] = {}
    found_act: dict[str, tuple[int, int, bytes]] = {}
    found_dead: tuple[int, int] | None = None
    d, prior_s = 0, 0.0
    resumed = checkpoint.load() if checkpoint is not None else None
    if resumed is not None:
        saved = snapshot.restore(s, *resumed)
        d, prior_s = restore_search_fields(ex, active, saved)
        found_inv, found_act, found_dead = saved["found"]
        n = 0 if ex.stopped else s.stat(7)
    else:
        for st in model.initial_states():
            if lib.eng_add_initial(s.e, st) < 0:
                raise MemoryError("the compiled engine ran out of memory")
        n = lib.eng_next_level(s.e)
        ex.level_start.append(0)
    finished_before = bool(ex.stopped)  # a resumed search that had finished
    by_id = {p.id: p for p in props}
    pool = ThreadPoolExecutor(max_workers=s.workers) if s.workers > 1 else None

    def masks() -> tuple[int, int, int]:
        inv = sum(1 << inv_bits[pid] for pid in active if pid in inv_bits)
        act = sum(1 << act_bits[pid] for pid in active if pid in act_bits)
        return inv, act, int("deadlock" in active)

    idx_ = s.ffi.new("int64_t *")
    dep_ = s.ffi.new("int64_t *")
    nxt_ = s.ffi.new("uint8_t[]", s.size)

    def collect() -> None:
        nonlocal found_dead
        for pid, b in inv_bits.items():
            if pid in active and pid not in found_inv and lib.eng_violation_inv(s.e, b, idx_, dep_):
                found_inv[pid] = (int(idx_[0]), int(dep_[0]))
                active.discard(pid)
        for pid, b in act_bits.items():
            if pid in active and pid not in found_act:
                if lib.eng_violation_act(s.e, b, idx_, dep_, nxt_):
                    found_act[pid] = (int(idx_[0]), int(dep_[0]), bytes(s.ffi.buffer(nxt_)))
                    active.discard(pid)
        if "deadlock" in active and found_dead is None:
            if lib.eng_violation_dead(s.e, idx_, dep_):
                found_dead = (int(idx_[0]), int(dep_[0]))
                active.discard("deadlock")

    limit = max_states or 0
    workers = s.workers

    def launch(pos: int, n: int, expand: bool, round_: int) -> tuple[list, list, int]:
        """Phase A of the next chunks: one part per worker, in the round's
        half of the engine's slots (the other half may still be in phase B)."""
        inv, act, dead = masks()
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
        if pool is not None:
            futures = [pool.submit(lib.eng_phase_a, *a) for a in args]
        else:
            futures = [_Done(lib.eng_phase_a(*a)) for a in args]
        return parts, futures, pos + sum(c for _, _, c in parts)

    in_flight: list = []
    mark: dict | None = None  # the search as each level began, for a checkpoint

    def mark_now(complete: bool = False) -> dict:
        found = (dict(found_inv), dict(found_act), found_dead)
        elapsed = prior_s + time.monotonic() - start
        return snapshot.mark(s, ex, active, d, found, elapsed, complete)

    try:
        while n:
            if checkpoint is not None:
                mark = mark_now()
                if checkpoint.due():
                    snapshot.save(checkpoint, s, mark)
                    if checkpoint.run.interrupted:
                        raise KeyboardInterrupt
            expand = depth == 0 or d < depth
            round_ = 0
            cur: tuple[list, list, int] | None = launch(0, n, expand, round_)
            while cur is not None:
                parts, futures, next_pos = cur
                in_flight = futures
                for code in [f.result() for f in futures]:
                    if code == 5:
                        raise MemoryError("the compiled engine ran out of memory")
                    if code:
                        raise KernelError(_error_text(code))
                # With a pool, the next chunks' phase A runs while this one's
                # phase B does (in the other half of the slots); one worker
                # has one slot, so it goes on after phase B.
                round_ += 1
                cur = None
                if pool is not None and next_pos < n:
                    cur = launch(next_pos, n, expand, round_)
                    in_flight = cur[1]
                stopped = False
                for slot, lo, cnt in parts:
                    done = lib.eng_phase_b(s.e, slot, lo, d, limit)
                    if done < 0:
                        raise MemoryError("the compiled engine ran out of memory")
                    if done < cnt or (limit and s.stat(0) >= limit):
                        stopped = True
                        break
                collect()
                st = s.stats()
                if progress is not None:
                    progress(Progress(st[0], st[1], d, n, time.monotonic() - start))
                if stopped:
                    ex.stopped = STOP_MAX_STATES
                    break
                if pool is None and next_pos < n:
                    cur = launch(next_pos, n, expand, round_)
            for f in in_flight:  # a stop leaves the next chunks' phase A running
                f.result()
            in_flight = []
            if ex.stopped:
                break
            if props and not active:
                ex.stopped = STOP_ALL_FAILED
                break
            if not expand:
                ex.stopped = STOP_DEPTH
                break
            n = lib.eng_next_level(s.e)
            if not n:
                ex.stopped = STOP_EXHAUSTED
                break
            d += 1
            ex.level_start.append(s.stat(0) - n)
    except KeyboardInterrupt:
        ex.stopped = STOP_INTERRUPTED
    finally:
        if pool is not None:
            pool.shutdown(wait=True)  # no C call may outlive the engine
    if not ex.stopped:
        ex.stopped = STOP_EXHAUSTED
    ex.elapsed = prior_s + time.monotonic() - start
    if checkpoint is not None and not finished_before:
        if ex.stopped != STOP_INTERRUPTED:
            mark = mark_now(complete=True)
        if mark is not None:
            snapshot.save(checkpoint, s, mark)

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
    if graph:
        _graph_arrays(ex, s, model)
    for pid, (idx, dep) in found_inv.items():
        ex.violations[pid] = Violation(pid, "", idx, dep)
    for pid, (idx, dep, nxt) in found_act.items():
        ex.violations[pid] = Violation(pid, "", idx, dep, nxt)
    if found_dead is not None:
        ex.violations["deadlock"] = Violation(
            "deadlock",
            "no step is enabled and not every goroutine has exited",
            found_dead[0],
            found_dead[1],
        )
    _fill_messages(ex, model, by_id)
    return ex


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
        steps = rebuild_path(model, ex.keys(ex.path_to(v.state)), ex.key_of)
        t = model.canonical(steps[-1].state)
        if prop.kind == INVARIANT:
            v.message = prop.reason(model, t) or ""
        else:
            for _actor, label, u in model.successors(t)[0]:
                if ex.key_of(model.canonical(u)) == ex.key_of(v.next_state):
                    msg = prop.reason(model, t, label, u)
                    if msg is not None:
                        v.message = msg
                        break
        if not v.message:
            raise KernelError(f"the compiled kernel and the model disagree on {pid}")
