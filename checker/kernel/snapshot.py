"""The compiled search's checkpoints (checker/engine/checkpoint.py): what
one holds beyond the engine's own tables (engine.c eng_save, eng_load),
and putting a search back as it was. `s` is the CompiledSearch
(search.py, which imports this module)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from checker.engine.checkpoint import (
    CheckpointError,
    counts_from_json,
    counts_to_json,
    search_fields,
)
from checker.engine.explore import Exploration

if TYPE_CHECKING:
    from checker.engine.checkpoint import SearchCheckpoint


def mark(
    s: Any,
    ex: Exploration,
    active: set[str],
    d: int,
    found: tuple,
    elapsed: float,
    complete: bool,
) -> dict:
    """What a checkpoint of the search as it stands now holds: the engine's
    counts (its arrays only grow: their lengths), the coverage, the
    verdicts found and the properties still checked."""
    st = s.stats()
    found_inv, found_act, found_dead = found
    return {
        **search_fields(ex, active, d, elapsed, complete),
        "states": st[0],
        "rows": int(s.lib.eng_nrow(s.e)),
        "edges": st[5],
        "frontier": st[7],
        "counts": st[1:5],
        "coverage": counts_to_json(s.coverage()),
        "cuts": counts_to_json(s.cuts()),
        "found_inv": {k: list(v) for k, v in found_inv.items()},
        "found_act": {k: [i, dep, nxt.hex()] for k, (i, dep, nxt) in found_act.items()},
        "found_dead": list(found_dead) if found_dead is not None else None,
    }


def save(checkpoint: SearchCheckpoint, s: Any, mark: dict) -> None:
    """Write the checkpoint `mark` describes (engine.c eng_save: in the
    middle of a level, the states numbered since it began are left out)."""
    zero_from = mark["states"] if mark["complete"] else mark["states"] - mark["frontier"]

    def write(path: Path) -> None:
        args = (mark["states"], mark["rows"], mark["edges"], zero_from)
        if s.lib.eng_save(s.e, os.fsencode(path), *args) != 0:
            err = s.ffi.errno
            raise OSError(err, os.strerror(err), str(path))

    checkpoint.save(mark, write)


def restore(s: Any, meta: dict, path: Path) -> dict:
    """The engine as the checkpoint holds it; returns the checkpoint's meta
    with its verdicts found as the search keeps them (mark["found"])."""
    rc = s.lib.eng_load(s.e, os.fsencode(path))
    if rc == -2:
        raise MemoryError("the compiled engine ran out of memory reading the checkpoint")
    if rc == -3:
        raise CheckpointError(f"{path}: a checkpoint of another kernel layout or search")
    if rc != 0:
        raise CheckpointError(f"{path}: not a readable checkpoint")
    try:
        size = s.model.L.nA * 256
        cover = np.zeros(size, dtype=np.uint64)
        cut = np.zeros(size, dtype=np.uint64)
        for (a, pc), k in counts_from_json(meta["coverage"]).items():
            cover[a * 256 + pc] = k
        for (a, pc), k in counts_from_json(meta["cuts"]).items():
            cut[a * 256 + pc] = k
        counts = np.array(meta["counts"], dtype=np.int64)
        s.lib.eng_restore_counts(
            s.e,
            s.ffi.cast("int64_t *", counts.ctypes.data),
            s.ffi.cast("uint64_t *", cover.ctypes.data),
            s.ffi.cast("uint64_t *", cut.ctypes.data),
        )
        found_inv = {k: (int(i), int(dep)) for k, (i, dep) in meta["found_inv"].items()}
        found_act = {
            k: (int(i), int(dep), bytes.fromhex(nxt))
            for k, (i, dep, nxt) in meta["found_act"].items()
        }
        dead = meta["found_dead"]
        meta["found"] = (found_inv, found_act, (int(dead[0]), int(dead[1])) if dead else None)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        where = path.parent / "meta.json"
        raise CheckpointError(f"{where}: not a readable checkpoint ({e})") from None
    return meta
