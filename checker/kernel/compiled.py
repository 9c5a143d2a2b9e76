"""The compiled engine (engine.c) as the search holds it: `CompiledSearch`
owns one engine and reads it (its counts, parents, states or fingerprints,
labels, coverage, cuts); `StoredStates` is the search's states as a
sequence. The search itself is checker/kernel/search.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from checker.kernel.actions import label_action
from checker.kernel.build import Kernel, ffi
from model.action import Action


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
