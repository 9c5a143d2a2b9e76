"""The breadth-first search partitioned by fingerprint over a Dask cluster.

`--distributed local:N` starts a cluster of N worker processes on this
machine; `--distributed tcp://HOST:PORT` uses a running one (a
`dask scheduler` and `dask worker`s on other machines, each with gmpcheck
installed). Partition i lives on worker i: the states whose fingerprint is
i modulo the number of partitions, their visited set, their parents and
their part of the frontier, in that worker's compiled engine.

One level of the search, as the client drives it:
  1. expand: each partition runs phase A (engine.c) on its frontier: the
     properties on each state, the distinct canonical successors of each,
     keyed by (parent's number, position among the parent's successors);
     it splits them by owner;
  2. shuffle and dedup: each owner receives its batches (Dask moves them
     from worker to worker), puts them in key order and looks them up in
     its visited set: the new ones are those found first;
  3. number: the client merges the owners' sorted keys; the rank of a new
     state in that order is its number, exactly the number the one-process
     search gives it (states are numbered in discovery order: by parent,
     then by position).
The first violation of each property is the one on the lowest-numbered
state, as in one process. The result is the same states, counts and
counterexamples as `explore`, whatever the number of partitions.

Dask rather than Ray, by measurement on this machine (medians of 2 runs,
2 workers; docs/findings.md): a local cluster starts in 2.9 s against 9 s,
an actor round trip is 2.5 ms against 3.9 ms, 100 MB from one worker to
another take 1.1 s against 2.7 s, and the install is 40 MB against 290 MB.
The shuffle is worker to worker, where Dask is faster.

What it does not do: liveness (the fair-cycle analysis needs the whole
graph on one machine), --max-states, and the checkpoint of a run. A worker
that dies ends the run within seconds with what was established (exit 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from checker.engine.explore import (
    STOP_ALL_FAILED,
    STOP_DEPTH,
    STOP_EXHAUSTED,
    STOP_INTERRUPTED,
    Exploration,
    Progress,
    Violation,
)
from specs import properties_of

# How often the client looks at the cluster's workers while it waits.
WATCH_S = 0.5
CHUNK = 8192


class DistributedError(RuntimeError):
    """The cluster cannot be used, or lost a worker: the run stops (exit 4)."""


@dataclass
class Recipe:
    """How a worker builds the run's model: the configuration, the plug-in
    (FILE:NAME, a file every worker can read) and symmetry."""

    cfg: Any
    plugin: str = ""
    symmetry: bool = True

    def model(self) -> Any:
        from model.factory import build_model

        kw: dict = {}
        if self.plugin:
            from checker.plugin import load_plugin

            p = load_plugin(self.plugin)
            kw = {"model_class": p.model_class, "workload": p.workload, "plugin": p.describe()}
        return build_model(self.cfg, symmetry=self.symmetry, **kw)


# ---- on the workers: one partition per run ---------------------------------------

_PARTS: dict[str, Partition] = {}


class Partition:
    def __init__(self, index: int, parts: int, recipe: Recipe, prop_ids: list[str]):
        from checker.kernel import kernel_properties
        from checker.kernel.build import BuildError, build_kernel, cached_kernel, ffi

        self.index, self.parts = index, parts
        self.model = recipe.model()
        props = [p for p in properties_of(self.model) if p.id in prop_ids]
        wanted = kernel_properties(self.model, props)
        k = cached_kernel(self.model, wanted)
        if k is None:
            try:
                k = build_kernel(self.model, wanted, level="fast")
            except BuildError as e:
                raise DistributedError(f"worker {index}: {e}") from None
        self.k, self.lib, self.ffi = k, k.lib, ffi()
        self.size = k.meta["size"]
        symmetry = getattr(self.model, "symmetry", None) is not None
        self.e = self.ffi.gc(
            self.lib.eng_new(int(self.model.macro), 0, int(symmetry), 0, 1), self.lib.eng_free
        )
        self.frontier = np.zeros((0, self.size), dtype=np.uint8)
        self.frontier_idx = np.zeros(0, dtype=np.int64)
        self.numbers: list[np.ndarray] = []  # the global numbers of this partition's states
        self.parents: list[np.ndarray] = []  # and their parents'
        self.fps: list[np.ndarray] = []  # and their fingerprints
        self.inbox: list = []
        self.pending: tuple | None = None

    def _buf(self, ptr: Any, dtype: Any, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=dtype)
        size = np.dtype(dtype).itemsize
        return np.frombuffer(self.ffi.buffer(ptr, n * size), dtype=dtype).copy()

    def expand(self, expand: bool, inv: int, act: int, dead: int) -> tuple:
        """Phase A on this partition's frontier: the verdicts, and the
        successors split by owner."""
        lib, e = self.lib, self.e
        n = len(self.frontier)
        lib.eng_set_frontier(e, self.frontier.tobytes(), n)
        counts = self.ffi.new("int64_t[3]")
        invs, ncands, nacts, flags, cfps, csts, abits, asts = ([] for _ in range(8))
        for lo in range(0, n, CHUNK):
            cnt = min(CHUNK, n - lo)
            code = lib.eng_phase_a(e, 0, lo, cnt, int(expand), inv, act, dead)
            if code:
                from checker.kernel.search import _error_text

                raise DistributedError(f"partition {self.index}: {_error_text(code)}")
            lib.eng_wk_counts(e, 0, counts)
            nrec, ncand, nact = int(counts[0]), int(counts[1]), int(counts[2])
            a_inv = np.zeros(nrec, np.uint64)
            a_nc = np.zeros(nrec, np.uint32)
            a_na = np.zeros(nrec, np.uint32)
            a_fl = np.zeros(nrec, np.uint8)
            lib.eng_wk_states(
                e,
                0,
                self.ffi.cast("uint64_t *", a_inv.ctypes.data),
                self.ffi.cast("uint32_t *", a_nc.ctypes.data),
                self.ffi.cast("uint32_t *", a_na.ctypes.data),
                self.ffi.cast("uint8_t *", a_fl.ctypes.data),
            )
            invs.append(a_inv)
            ncands.append(a_nc)
            nacts.append(a_na)
            flags.append(a_fl)
            cfps.append(self._buf(lib.eng_wk_cfp(e, 0), np.uint64, ncand))
            csts.append(self._buf(lib.eng_wk_cst(e, 0), np.uint8, ncand * self.size))
            abits.append(self._buf(lib.eng_wk_act_bit(e, 0), np.int32, nact))
            asts.append(self._buf(lib.eng_wk_act_st(e, 0), np.uint8, nact * self.size))

        def cat(xs, dtype):
            return np.concatenate(xs) if xs else np.zeros(0, dtype)

        inv_bits, ncand, nact, flag = (
            cat(invs, np.uint64),
            cat(ncands, np.uint32),
            cat(nacts, np.uint32),
            cat(flags, np.uint8),
        )
        fps, sts = cat(cfps, np.uint64), cat(csts, np.uint8).reshape(-1, self.size)
        act_bits, act_sts = cat(abits, np.int32), cat(asts, np.uint8).reshape(-1, self.size)
        numbers = self.frontier_idx
        summary = _summary(numbers, inv_bits, ncand, nact, flag, act_bits, act_sts)
        # Each successor's key: its parent's number and its place among the
        # parent's distinct successors.
        parent = np.repeat(numbers, ncand.astype(np.int64))
        starts = np.repeat(np.cumsum(ncand.astype(np.int64)) - ncand, ncand.astype(np.int64))
        pos = np.arange(len(fps), dtype=np.int64) - starts
        owner = (fps % np.uint64(self.parts)).astype(np.int64)
        batches = []
        for j in range(self.parts):
            m = owner == j
            batches.append((parent[m], pos[m], fps[m], sts[m]))
        return (summary, *batches)

    def dedup(self, batches: list) -> np.ndarray:
        """The states this partition owns from every batch, in key order;
        the new ones kept (pending numbers). Returns their keys."""
        parent = np.concatenate([b[0] for b in batches]) if batches else np.zeros(0, np.int64)
        pos = np.concatenate([b[1] for b in batches]) if batches else np.zeros(0, np.int64)
        fps = np.concatenate([b[2] for b in batches]) if batches else np.zeros(0, np.uint64)
        sts = (
            np.concatenate([b[3] for b in batches])
            if batches
            else np.zeros((0, self.size), np.uint8)
        )
        order = np.lexsort((pos, parent))
        parent, pos, fps, sts = parent[order], pos[order], fps[order], sts[order]
        fresh = np.zeros(len(fps), dtype=np.uint8)
        if len(fps):
            fps_c = np.ascontiguousarray(fps)
            sts_c = np.ascontiguousarray(sts)
            code = self.lib.eng_visit_batch(
                self.e,
                self.ffi.cast("uint64_t *", fps_c.ctypes.data),
                self.ffi.cast("uint8_t *", sts_c.ctypes.data),
                len(fps),
                self.ffi.cast("uint8_t *", fresh.ctypes.data),
            )
            if code:
                raise MemoryError(f"partition {self.index}: out of memory")
        keep = fresh.astype(bool)
        self.pending = (parent[keep], fps[keep], sts[keep])
        return (
            np.stack([parent[keep], pos[keep]], axis=1)
            if keep.any()
            else np.zeros((0, 2), np.int64)
        )

    def number(self, numbers: np.ndarray) -> int:
        """The new states get their numbers and are the next frontier."""
        parent, fps, sts = self.pending or (np.zeros(0, np.int64), np.zeros(0, np.uint64), None)
        self.numbers.append(numbers.astype(np.int64))
        self.parents.append(parent)
        self.fps.append(fps)
        self.frontier = sts if sts is not None else np.zeros((0, self.size), np.uint8)
        self.frontier_idx = numbers.astype(np.int64)
        self.pending = None
        return len(numbers)

    def lookup(self, indices: list[int]) -> dict[int, tuple[int, int]]:
        """Of the states numbered `indices`, those held here: (parent, fingerprint)."""
        out = {}
        if not self.numbers:
            return out
        nums = np.concatenate(self.numbers)
        par = np.concatenate(self.parents)
        fps = np.concatenate(self.fps)
        for i in indices:
            hit = np.flatnonzero(nums == i)
            if len(hit):
                out[i] = (int(par[hit[0]]), int(fps[hit[0]]))
        return out


def _summary(numbers, inv_bits, ncand, nact, flag, act_bits, act_sts) -> dict:
    """What a partition's expansion establishes: the lowest-numbered state
    violating each property, counts."""
    expanded = (flag & 1).astype(bool)
    out: dict = {
        "transitions": int(ncand[expanded].sum()),
        "expanded": int(expanded.sum()),
        "truncated": int(((flag >> 1) & 1).sum()),
        "deadlocks": int(((flag >> 2) & 1).sum()),
        "inv": {},
        "act": {},
        "dead": None,
    }
    order = np.argsort(numbers, kind="stable")
    for j in order.tolist():
        bits = int(inv_bits[j])
        while bits:
            b = (bits & -bits).bit_length() - 1
            out["inv"].setdefault(b, int(numbers[j]))
            bits &= bits - 1
        if flag[j] >> 2 & 1 and out["dead"] is None:
            out["dead"] = int(numbers[j])
    act_start = np.cumsum(nact.astype(np.int64)) - nact
    for j in order.tolist():
        for q in range(int(act_start[j]), int(act_start[j] + nact[j])):
            out["act"].setdefault(int(act_bits[q]), (int(numbers[j]), act_sts[q].tobytes()))
    return out


def _init(run: str, index: int, parts: int, recipe: Recipe, prop_ids: list, initial: list) -> int:
    p = Partition(index, parts, recipe, prop_ids)
    _PARTS[run] = p
    mine = [(i, s, fp) for i, (s, fp) in enumerate(initial) if fp % parts == index]
    if mine:
        p.frontier = np.frombuffer(b"".join(s for _, s, _ in mine), np.uint8).reshape(-1, p.size)
        p.frontier_idx = np.array([i for i, _, _ in mine], dtype=np.int64)
        fps = np.array([fp for _, _, fp in mine], dtype=np.uint64)
        p.numbers.append(p.frontier_idx.copy())
        p.parents.append(np.full(len(mine), -1, dtype=np.int64))
        p.fps.append(fps)
        p.dedup([(np.full(len(mine), -1, np.int64), np.arange(len(mine)), fps, p.frontier)])
        p.pending = None
    return index


def _part(run: str) -> Partition:
    p = _PARTS.get(run)
    if p is None:
        raise DistributedError("a partition's worker was restarted and lost its states")
    return p


def _expand(run: str, expand: bool, inv: int, act: int, dead: int) -> tuple:
    return _part(run).expand(expand, inv, act, dead)


def _dedup(run: str, *batches) -> np.ndarray:
    return _part(run).dedup(list(batches))


def _number(run: str, numbers: np.ndarray) -> int:
    return _part(run).number(numbers)


def _lookup(run: str, indices: list[int]) -> dict:
    return _part(run).lookup(indices)


def _drop(run: str) -> None:
    _PARTS.pop(run, None)


# ---- on the client -----------------------------------------------------------------


class Cluster:
    """A Dask client on a cluster of `parts` workers: a local one started
    here (`local:N`), or a running scheduler's."""

    def __init__(self, address: str):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise DistributedError(
                "--distributed needs Dask: pip install 'gmpcheck[distributed]'"
            ) from None
        self.local = None
        try:
            self._start(address, Client, LocalCluster)
        except DistributedError:
            raise
        except Exception as e:  # noqa: BLE001 - Dask's own failures to start, in one line
            self.close()
            raise DistributedError(
                f"--distributed {address}: the cluster did not start ({e})"
            ) from None

    def _start(self, address: str, Client: Any, LocalCluster: Any) -> None:
        if address.startswith("local:"):
            n = address.split(":", 1)[1]
            if not n.isdigit() or int(n) < 1:
                raise DistributedError(f"--distributed {address}: expected local:N with N >= 1")
            self.local = LocalCluster(
                n_workers=int(n),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=50,
            )
            self.client = Client(self.local)
        else:
            try:
                self.client = Client(address, timeout=30)
            except (OSError, TimeoutError) as e:
                raise DistributedError(f"--distributed {address}: cannot connect ({e})") from None
        self.workers = sorted(self.client.scheduler_info()["workers"])
        if not self.workers:
            self.close()
            raise DistributedError(f"--distributed {address}: the cluster has no worker")

    def alive(self) -> set[str]:
        """The workers the scheduler has now (asked, not cached)."""
        return set(self.client.run_on_scheduler(_scheduler_workers))

    def close(self) -> None:
        """Stop the client and a local cluster's workers; bounded in time (a
        worker that died may leave its nanny restarting it)."""
        # After a failure there is nothing more to do if closing fails too.
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close(timeout=10)


def _scheduler_workers(dask_scheduler: Any = None) -> list[str]:
    return list(dask_scheduler.workers)


def _wait(cluster: Cluster, futures: list, what: str) -> list:
    """The futures' results; a worker of the run that leaves the cluster (or
    a task that fails) ends the wait at once with the reason."""
    from dask.distributed import wait

    ours = set(cluster.workers)

    def check() -> None:
        for f in futures:
            if f.status in ("error", "cancelled", "lost"):
                exc = f.exception() if f.status == "error" else f.status
                raise DistributedError(f"{what}: {type(exc).__name__}: {exc}")
        lost = ours - cluster.alive()
        if lost:
            raise DistributedError(f"{what}: worker {', '.join(sorted(lost))} left the cluster")

    while True:
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            wait(futures, timeout=WATCH_S)
        check()
        if all(f.status == "finished" for f in futures):
            break
    # A finished task's result lives on its worker: fetching it from a worker
    # that died since would wait for ever, so it is fetched in short waits too.
    results = []
    for f in futures:
        while True:
            try:
                results.append(f.result(timeout=WATCH_S))
                break
            except TimeoutError:
                check()
    return results


class DistributedParents:
    """Exploration.parent for a distributed search: asked of the partitions."""

    def __init__(self, search: DistributedSearch):
        self.s = search

    def __getitem__(self, i: int) -> int:
        return self.s.lookup([i])[i][0]

    def __len__(self) -> int:
        return self.s.n_states


class DistributedSearch:
    def __init__(self, cluster: Cluster, run: str):
        self.cluster, self.run = cluster, run
        self.n_states = 0
        self._known: dict[int, tuple[int, int]] = {}

    def lookup(self, indices: list[int]) -> dict[int, tuple[int, int]]:
        missing = [i for i in indices if i not in self._known]
        if missing:
            c = self.cluster.client
            futs = [
                c.submit(_lookup, self.run, missing, workers=[w], pure=False)
                for w in self.cluster.workers
            ]
            for got in _wait(self.cluster, futs, "looking up a trace"):
                self._known.update(got)
        return {i: self._known[i] for i in indices}

    def keys(self, indices: list[int]) -> list[int]:
        got = self.lookup(indices)
        return [got[i][1] for i in indices]


class _Count:
    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> bytes:
        raise KeyError("a distributed search keeps fingerprints only")


def explore_distributed(
    model: Any,
    props: list,
    *,
    depth: int,
    address: str,
    plugin: str = "",
    progress: Any = None,
) -> Exploration:
    """The breadth-first search of checker/engine/explore.py for the safety
    properties, partitioned over a Dask cluster."""
    from checker.kernel import kernel_properties, select_kernel
    from checker.kernel.build import ffi

    # Built here first, so that the workers of a local cluster find it cached.
    choice = select_kernel(model, kernel_properties(model, props), "compiled", long_run=True)
    if choice.kernel is None:
        raise DistributedError(f"the distributed search runs the compiled kernel: {choice.note}")
    k = choice.kernel
    f = ffi()
    inv_bits = {pid: i for i, pid in enumerate(k.meta["invariants"])}
    act_bits = {pid: i for i, pid in enumerate(k.meta["actions"])}
    cluster = Cluster(address)
    run = uuid.uuid4().hex
    c = cluster.client
    ex = Exploration()
    ex.checked = [p.id for p in props]
    ex.kernel = "compiled"
    ex.partitions = len(cluster.workers)
    active = {p.id for p in props}
    start = time.monotonic()
    search = DistributedSearch(cluster, run)
    found: dict[str, tuple] = {}
    d = 0
    try:
        symmetry = getattr(model, "symmetry", None) is not None
        recipe = Recipe(model.cfg, plugin, symmetry)
        initial: list[tuple[bytes, int]] = []
        seen: set[bytes] = set()
        for s in model.initial_states():
            out = f.new("uint8_t[]", len(s))
            if symmetry:
                k.lib.k_canonical(s, out)
                cs = bytes(f.buffer(out))
            else:
                cs = bytes(s)
            if cs not in seen:
                seen.add(cs)
                initial.append((cs, int(k.lib.k_fingerprint(cs))))
        parts = len(cluster.workers)
        ids = [p.id for p in props]
        futs = [
            c.submit(_init, run, i, parts, recipe, ids, initial, workers=[w], pure=False)
            for i, w in enumerate(cluster.workers)
        ]
        _wait(cluster, futs, "starting the partitions")
        n = len(initial)
        search.n_states = n
        ex.level_start.append(0)
        while n:
            expand = depth == 0 or d < depth
            inv = sum(1 << inv_bits[p] for p in active if p in inv_bits)
            act = sum(1 << act_bits[p] for p in active if p in act_bits)
            dead = int("deadlock" in active)
            outs = [
                c.submit(_expand, run, expand, inv, act, dead, workers=[w], pure=False)
                for w in cluster.workers
            ]
            summaries = [s[0] for s in _wait(cluster, outs, f"expanding level {d}")]
            for s in summaries:
                ex.transitions += s["transitions"]
                ex.expanded += s["expanded"]
                ex.truncated_states += s["truncated"]
                ex.deadlocks += s["deadlocks"]
            _record(found, summaries, inv_bits, act_bits, d)
            for pid in list(active):
                if pid in found:
                    active.discard(pid)
            if expand:
                batches = [
                    [
                        c.submit(operator.getitem, outs[i], 1 + j, workers=[wi], pure=False)
                        for i, wi in enumerate(cluster.workers)
                    ]
                    for j in range(parts)
                ]
                ded = [
                    c.submit(_dedup, run, *batches[j], workers=[w], pure=False)
                    for j, w in enumerate(cluster.workers)
                ]
                keys = _wait(cluster, ded, f"deduplicating level {d + 1}")
                tags = np.concatenate([np.full(len(kk), j) for j, kk in enumerate(keys)])
                allk = np.concatenate(keys) if keys else np.zeros((0, 2), np.int64)
                order = np.lexsort((allk[:, 1], allk[:, 0])) if len(allk) else np.zeros(0, int)
                numbers = np.empty(len(allk), dtype=np.int64)
                numbers[order] = search.n_states + np.arange(len(allk))
                nums = [
                    c.submit(_number, run, numbers[tags == j], workers=[w], pure=False)
                    for j, w in enumerate(cluster.workers)
                ]
                _wait(cluster, nums, f"numbering level {d + 1}")
                n_new = len(allk)
            else:
                n_new = 0
            if progress is not None:
                progress(
                    Progress(
                        search.n_states + n_new, ex.transitions, d, n, time.monotonic() - start
                    )
                )
            if props and not active:
                ex.stopped = STOP_ALL_FAILED
                break
            if not expand:
                ex.stopped = STOP_DEPTH
                break
            if not n_new:
                ex.stopped = STOP_EXHAUSTED
                break
            ex.level_start.append(search.n_states)
            search.n_states += n_new
            n = n_new
            d += 1
        if not ex.stopped:
            ex.stopped = STOP_EXHAUSTED
    except KeyboardInterrupt:
        ex.stopped = STOP_INTERRUPTED
    except DistributedError as e:
        cluster.close()
        done = ", ".join(sorted(found)) or "none"
        raise DistributedError(
            f"{e}; established before: levels 0 to {d - 1} complete, "
            f"{search.n_states:,} states, violated: {done}"
        ) from None
    ex.elapsed = time.monotonic() - start
    ex.states = _Count(search.n_states)
    ex.parent = DistributedParents(search)
    ex.key_of = lambda cs: int(k.lib.k_fingerprint(cs))
    ex.keys_of = search.keys
    ex.fingerprints = True
    ex.search = None
    for pid, got in found.items():
        if pid == "deadlock":
            ex.violations[pid] = Violation(
                pid, "no step is enabled and not every goroutine has exited", got[0], got[1]
            )
        else:
            ex.violations[pid] = Violation(
                pid, "", got[0], got[1], got[2] if len(got) > 2 else None
            )
    try:
        from checker.kernel.search import _fill_messages

        _fill_messages(ex, model, {p.id: p for p in props})
    finally:
        try:
            for w in cluster.workers:
                c.submit(_drop, run, workers=[w], pure=False)
        finally:
            cluster.close()
    return ex


def _record(found: dict, summaries: list, inv_bits: dict, act_bits: dict, d: int) -> None:
    """The lowest-numbered violating state of this level, per property."""
    inv_id = {b: pid for pid, b in inv_bits.items()}
    act_id = {b: pid for pid, b in act_bits.items()}
    best: dict[str, tuple] = {}
    for s in summaries:
        for b, idx in s["inv"].items():
            pid = inv_id[b]
            if pid not in found and (pid not in best or idx < best[pid][0]):
                best[pid] = (idx, d)
        for b, (idx, nxt) in s["act"].items():
            pid = act_id[b]
            if pid not in found and (pid not in best or idx < best[pid][0]):
                best[pid] = (idx, d, nxt)
        if s["dead"] is not None and "deadlock" not in found:
            if "deadlock" not in best or s["dead"] < best["deadlock"][0]:
                best["deadlock"] = (s["dead"], d)
    found.update(best)
