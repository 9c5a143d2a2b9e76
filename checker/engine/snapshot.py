"""The Python search's checkpoints (checker/engine/checkpoint.py): the
search as a level began, pickled, and put back as it was. `ex` is the
search's Exploration (explore.py, which imports this module)."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

from checker.engine.checkpoint import CheckpointError, restore_search_fields, search_fields

if TYPE_CHECKING:
    from checker.engine.checkpoint import SearchCheckpoint


def mark(ex: Any, active: set[str], d: int, elapsed: float, complete=False) -> dict:
    """What a checkpoint of the search as it stands now holds, but for the
    arrays, which only grow: their lengths now."""
    return {
        **search_fields(ex, active, d, elapsed, complete),
        "states": len(ex.states),
        "edges": len(ex.edge_src),
        "counts": [ex.transitions, ex.truncated_states, ex.deadlocks, ex.expanded],
        "coverage": dict(ex.coverage),
        "cuts": dict(ex.cuts),
        "violations": dict(ex.violations),
    }


def save(checkpoint: SearchCheckpoint, ex: Any, mark: dict) -> None:
    """Write the checkpoint `mark` describes. In the middle of a level, the
    states numbered since it began are left out, and the frontier's graph
    fields (written as each frontier state is taken) are zero, as they were."""
    n, ne = mark["states"], mark["edges"]
    zero_from = n if mark["complete"] else mark["level_start"][mark["depth"]]

    def arr(a: Any, upto: int) -> Any:
        a = a[:upto]
        if zero_from < upto:
            a[zero_from:upto] = type(a)(a.typecode, bytes(a.itemsize * (upto - zero_from)))
        return a

    def write(path: Any) -> None:
        data = {
            "states": ex.states[:n],
            "parent": ex.parent[:n],
            "edge_src": ex.edge_src[:ne],
            "edge_dst": ex.edge_dst[:ne],
            "edge_groups": ex.edge_groups[:ne],
            "enabled": arr(ex.enabled, n) if ex.graph else None,
            "atoms": arr(ex.atoms, n) if ex.graph else None,
            "is_expanded": bytes(ex.is_expanded[:zero_from]) + bytes(max(0, n - zero_from)),
            "is_final": bytes(ex.is_final[:zero_from]) + bytes(max(0, n - zero_from)),
            "mark": mark,
        }
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)

    meta = {k: mark[k] for k in ("depth", "states", "elapsed_s", "complete", "stopped")}
    checkpoint.save(meta, write)


def restore(ex: Any, active: set[str], meta: dict, path: Any) -> tuple[int, float]:
    """The search as the checkpoint holds it; returns its level and the
    time spent before. A complete search comes back finished (ex.stopped)."""
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
        mark = data["mark"]
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint ({e})") from None
    ex.states = data["states"]
    ex.parent = data["parent"]
    ex.edge_src, ex.edge_dst = data["edge_src"], data["edge_dst"]
    ex.edge_groups = data["edge_groups"]
    if ex.graph:
        ex.enabled, ex.atoms = data["enabled"], data["atoms"]
        ex.is_expanded, ex.is_final = bytearray(data["is_expanded"]), bytearray(data["is_final"])
    ex.transitions, ex.truncated_states, ex.deadlocks, ex.expanded = mark["counts"]
    ex.coverage, ex.cuts = mark["coverage"], mark["cuts"]
    ex.violations = mark["violations"]
    return restore_search_fields(ex, active, mark)
