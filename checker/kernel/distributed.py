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
from checker.engine.protocol import has_symmetry, reduction
from checker.kernel.partition import (
    DistributedError,
    Recipe,
    _dedup,
    _drop,
    _expand,
    _init,
    _lookup,
    _number,
)

# How often the client looks at the cluster's workers while it waits.
WATCH_S = 0.5


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
        # A worker that dies loses the tasks it held; the scheduler may mark
        # them "lost" before it drops the worker, so either sign says so.
        lost = ours - cluster.alive()
        if lost:
            raise DistributedError(f"{what}: worker {', '.join(sorted(lost))} left the cluster")
        for f in futures:
            if f.status == "lost":
                raise DistributedError(f"{what}: a worker left the cluster with a task's result")
            if f.status == "cancelled":
                raise DistributedError(f"{what}: a task was cancelled by the cluster")
            if f.status == "error":
                exc = f.exception()
                raise DistributedError(f"{what}: {type(exc).__name__}: {exc}")

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
            except Exception:  # noqa: BLE001 - a result lost or cancelled meanwhile
                check()
                raise DistributedError(f"{what}: a task's result could not be fetched") from None
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
    symmetry: bool = True,
) -> Exploration:
    """The breadth-first search of checker/engine/explore.py for the safety
    properties, partitioned over a Dask cluster; with `symmetry`, under the
    model's symmetry if it has one."""
    from checker.progress import mark

    symmetry = symmetry and has_symmetry(model)
    k = _kernel(model, props, symmetry)
    inv_bits = {pid: i for i, pid in enumerate(k.meta["invariants"])}
    act_bits = {pid: i for i, pid in enumerate(k.meta["actions"])}
    cluster = Cluster(address)
    ex = Exploration(canonical=reduction(model, symmetry))
    ex.checked = [p.id for p in props]
    ex.kernel = "compiled"
    ex.partitions = len(cluster.workers)
    active = {p.id for p in props}
    start = time.monotonic()
    search = DistributedSearch(cluster, uuid.uuid4().hex)
    found: dict[str, tuple] = {}
    d = 0
    try:
        n = _start_partitions(search, model, k, Recipe(model.cfg, plugin, symmetry), props)
        mark("distributed: partitions started")  # for the tests: the search is under way
        search.n_states = n
        ex.level_start.append(0)
        while n:
            expand = depth == 0 or d < depth
            masks = _masks(active, inv_bits, act_bits)
            outs, summaries = _expand_level(search, expand, masks, d)
            _add_counts(ex, summaries)
            _record(found, summaries, inv_bits, act_bits, d)
            active.difference_update(found)  # a property found is no longer checked
            n_new = _number_next_level(search, outs, d) if expand else 0
            if progress is not None:
                elapsed = time.monotonic() - start
                progress(Progress(search.n_states + n_new, ex.transitions, d, n, elapsed))
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
    _read_results(ex, search, k, found)
    try:
        from checker.kernel.search import _fill_messages

        _fill_messages(ex, model, {p.id: p for p in props})
    finally:
        _drop_partitions(search)
    return ex


def _kernel(model: Any, props: list, symmetry: bool) -> Any:
    """The compiled kernel, built here first so that the workers of a local
    cluster find it cached."""
    from checker.kernel import kernel_properties, select_kernel

    wanted = kernel_properties(model, props)
    choice = select_kernel(model, wanted, "compiled", long_run=True, symmetry=symmetry)
    if choice.kernel is None:
        raise DistributedError(f"the distributed search runs the compiled kernel: {choice.note}")
    return choice.kernel


def _masks(
    active: set[str], inv_bits: dict[str, int], act_bits: dict[str, int]
) -> tuple[int, int, int]:
    """The properties still checked, as the engine's bit masks."""
    inv = sum(1 << inv_bits[p] for p in active if p in inv_bits)
    act = sum(1 << act_bits[p] for p in active if p in act_bits)
    return inv, act, int("deadlock" in active)


def _expand_level(
    search: DistributedSearch, expand: bool, masks: tuple[int, int, int], d: int
) -> tuple[list, list[dict]]:
    """Step 1 of a level: every partition expands its frontier, with the
    properties still checked (`masks`: invariants, actions, deadlock).
    Returns the partitions' futures (their successors, by owner, stay on
    the workers) and their summaries."""
    cluster = search.cluster
    outs = [
        cluster.client.submit(_expand, search.run, expand, *masks, workers=[w], pure=False)
        for w in cluster.workers
    ]
    return outs, [s[0] for s in _wait(cluster, outs, f"expanding level {d}")]


def _drop_partitions(search: DistributedSearch) -> None:
    """The run's partitions freed on the workers, and the cluster closed."""
    cluster = search.cluster
    try:
        for w in cluster.workers:
            cluster.client.submit(_drop, search.run, workers=[w], pure=False)
    finally:
        cluster.close()


def _start_partitions(
    search: DistributedSearch, model: Any, k: Any, recipe: Recipe, props: list
) -> int:
    """Step 0: every partition builds the model (from its recipe) and its
    engine, and keeps the initial states it owns. Returns how many there are."""
    cluster = search.cluster
    ids = [p.id for p in props]
    initial = _initial_states(model, k, recipe.symmetry)
    parts = len(cluster.workers)
    futs = [
        cluster.client.submit(
            _init, search.run, i, parts, recipe, ids, initial, workers=[w], pure=False
        )
        for i, w in enumerate(cluster.workers)
    ]
    _wait(cluster, futs, "starting the partitions")
    return len(initial)


def _initial_states(model: Any, k: Any, symmetry: bool) -> list[tuple[bytes, int]]:
    """The model's distinct initial states, canonical (by the kernel's
    symmetry), each with its fingerprint: what every partition starts from."""
    from checker.kernel.build import ffi

    f = ffi()
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
    return initial


def _add_counts(ex: Exploration, summaries: list[dict]) -> None:
    """The partitions' counts of one level, added to the search's."""
    for s in summaries:
        ex.transitions += s["transitions"]
        ex.expanded += s["expanded"]
        ex.truncated_states += s["truncated"]
        ex.deadlocks += s["deadlocks"]


def _number_next_level(search: DistributedSearch, outs: list, d: int) -> int:
    """Steps 2 and 3 of a level: each owner receives its batches of the
    successors the expansion found (`outs`) and keeps the new ones, in key
    order; the client merges the owners' keys, and a new state's rank among
    them is its number. Returns how many new states the next level has."""
    cluster, run = search.cluster, search.run
    c = cluster.client
    parts = len(cluster.workers)
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
    return len(allk)


def _read_results(ex: Exploration, search: DistributedSearch, k: Any, found: dict) -> None:
    """The exploration as the client sees it at the end: the states counted,
    their parents and fingerprints asked of the partitions when a trace
    needs them, the violations found (their messages come after)."""
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
