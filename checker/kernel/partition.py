"""The worker side of the distributed search (distributed.py): one
partition of the states per run and worker, in the worker's compiled
engine, and the tasks the client submits to it (each a module-level
function, so that Dask sends it by name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specs import properties_of

CHUNK = 8192  # states per phase-A call on a worker


class DistributedError(RuntimeError):
    """The cluster cannot be used, or lost a worker: the run stops (exit 4)."""


@dataclass
class Recipe:
    """How a worker builds the run's model: the configuration and the
    plug-in (FILE:NAME, a file every worker can read); and whether the
    search reduces by the model's symmetry."""

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
        return build_model(self.cfg, **kw)


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
        self.e = self.ffi.gc(
            self.lib.eng_new(int(self.model.macro), 0, int(recipe.symmetry), 0, 1),
            self.lib.eng_free,
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
        out: dict[int, tuple[int, int]] = {}
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
