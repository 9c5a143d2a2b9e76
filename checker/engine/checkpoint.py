"""Checkpoints of a long search: `check --checkpoint DIR`, `--resume DIR`.

A breadth-first search can be stopped and continued at the start of a
level: what it has then is the states numbered so far (with their parents,
for counterexamples), the level's frontier, the counters, the coverage, the
verdicts found and the properties still checked. Each engine writes that
(explore.py as a pickle, the compiled kernel in its own binary form, both
through this module), every `--checkpoint-every` minutes at a level's start,
when the run is stopped (Ctrl-C, SIGTERM, SIGHUP: the level in progress is
left out, as it stood when it began), and when a search ends, so a run
that has finished its safety search and is stopped in the liveness search
keeps the former.

A resumed search does the levels that remain as the uninterrupted one
would: the same states, numbers, counts, counterexamples and verdicts
(tests/test_checkpoint.py checks that for both kernels, stopped between
levels and in the middle of one). It must be the same run: the model (its
hash), the configuration, the properties, the depth and the bounds are
written in the checkpoint and compared; the number of workers may differ.

On disk, DIR/run.json names the run; DIR/<search>/meta.json is the commit
point of one search's checkpoint and names its data file. A checkpoint is
written beside the last one and only then put in its place (meta.json
replaced atomically), so a run killed while writing one keeps the one
before.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import UsageError
from checker.files import write_atomically
from checker.schemas import InputError, load_json

FORMAT = 1
DEFAULT_EVERY_MIN = 10.0
MAX_META_BYTES = 64 << 20  # run.json and meta.json: a few kB (coverage counts, verdicts)


class CheckpointError(UsageError):
    """A checkpoint directory that cannot be used as asked (exit 2)."""


@dataclass
class Checkpoints:
    """Where a run keeps the checkpoints of its searches, and how often."""

    directory: Path
    identity: dict  # the run: model, configuration, properties, depth, bounds
    every_s: float = DEFAULT_EVERY_MIN * 60
    resume: bool = False
    saved: dict[str, dict] = field(default_factory=dict)  # search -> what its last one holds
    resumed: dict[str, dict] = field(default_factory=dict)  # search -> where it resumed
    interrupted: bool = False  # a stop came while a checkpoint was written

    def open(self) -> None:
        """Check the directory before any work: a new run needs one without
        a checkpoint (a mistaken --checkpoint must not overwrite hours of
        search); --resume needs this run's checkpoint."""
        run_file = self.directory / "run.json"
        try:
            if self.directory.exists() and not self.directory.is_dir():
                raise CheckpointError(f"{self.directory}: not a directory")
            held = _read_json(run_file) if run_file.exists() else None
        except OSError as e:
            raise CheckpointError(f"{self.directory}: {e.strerror or e}") from None
        if self.resume:
            if held is None:
                raise CheckpointError(f"--resume {self.directory}: no checkpoint there")
            diff = _difference(held, self.identity)
            if diff:
                raise CheckpointError(
                    f"--resume {self.directory}: the checkpoint is of another run ({diff}); "
                    "run the same command it was written by"
                )
            return
        if held is not None:
            raise CheckpointError(
                f"--checkpoint {self.directory}: it already holds a checkpoint; continue it "
                "with --resume, or choose another directory"
            )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(run_file, json.dumps(self.identity, indent=1, sort_keys=True) + "\n")
        except OSError as e:
            raise CheckpointError(f"--checkpoint {self.directory}: {e.strerror or e}") from None

    def search(self, name: str, kernel: str, *, fresh: bool = False) -> SearchCheckpoint:
        """The checkpoints of the search `name` on `kernel`; a `fresh` one
        starts from the initial states whatever the directory holds."""
        return SearchCheckpoint(self, name, kernel, fresh)


class SearchCheckpoint:
    """One search's checkpoints (the safety search, the liveness search)."""

    def __init__(self, run: Checkpoints, name: str, kernel: str, fresh: bool = False):
        self.run, self.name, self.kernel, self.fresh = run, name, kernel, fresh
        self.dir = run.directory / name
        self.last = time.monotonic()

    def load(self) -> tuple[dict, Path] | None:
        """The last checkpoint's meta and data file, when resuming and there
        is one; None to start this search from its initial states."""
        meta_file = self.dir / "meta.json"
        if self.fresh or not self.run.resume or not meta_file.exists():
            return None
        try:
            meta = _read_json(meta_file)
        except OSError as e:
            raise CheckpointError(f"{meta_file}: {e.strerror or e}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise CheckpointError(f"{meta_file}: not a checkpoint of this version")
        if meta.get("kernel") != self.kernel:
            raise CheckpointError(
                f"--resume {self.run.directory}: the {self.name} search was checkpointed by the "
                f"{meta.get('kernel')} kernel; run again with --kernel {meta.get('kernel')}"
            )
        data = self.dir / str(meta.get("data", ""))
        if not data.is_file():
            raise CheckpointError(f"{self.dir}: the checkpoint's data file {data.name} is missing")
        self.run.resumed[self.name] = _what(meta)
        return meta, data

    def _generation(self) -> int:
        try:
            old = json.loads((self.dir / "meta.json").read_text())
            return int(old["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.run.every_s

    def save(self, meta: dict, write_data: Callable[[Path], None]) -> None:
        """Write the data (write_data(path)), then commit meta.json naming
        it; the checkpoint before stays in place until then. A failure to
        write is reported in the summary, not raised: the search goes on.
        A stop (KeyboardInterrupt) while writing abandons this checkpoint
        and sets `interrupted` for the caller to stop on."""
        self.last = time.monotonic()
        gen = self._generation() + 1
        name = f"data-{gen}.bin"
        tmp = self.dir / f".{name}.tmp"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_data(tmp)
            os.replace(tmp, self.dir / name)
            meta = {**meta, "format": FORMAT, "kernel": self.kernel, "generation": gen}
            meta["data"] = name
            write_atomically(self.dir / "meta.json", json.dumps(meta, sort_keys=True) + "\n")
        except OSError as e:
            self.run.saved[self.name] = {"error": f"{self.dir}: {e.strerror or e}"}
            return
        except MemoryError:
            self.run.saved[self.name] = {"error": "out of memory while writing it"}
            return
        except KeyboardInterrupt:
            # Stopped while writing (a signal more than signals.GRACE_S after
            # the first): the checkpoint before stays; the caller stops.
            self.run.saved[self.name] = {"error": "abandoned: stopped while writing it"}
            self.run.interrupted = True
            return
        finally:
            tmp.unlink(missing_ok=True)
        for f in self.dir.glob("data-*.bin"):
            if f.name != name:
                f.unlink(missing_ok=True)
        self.run.saved[self.name] = _what(meta)


def _what(meta: dict) -> dict:
    """What a checkpoint holds, for the summary."""
    return {k: meta.get(k) for k in ("depth", "states", "complete", "elapsed_s")}


def _read_json(path: Path) -> Any:
    try:
        return load_json(path, MAX_META_BYTES, "checkpoint")
    except InputError as e:
        raise CheckpointError(str(e)) from None


def _difference(held: Any, want: dict) -> str:
    if not isinstance(held, dict):
        return "unreadable"
    for key in sorted(set(held) | set(want)):
        if held.get(key) != want.get(key):
            return f"{key} differs"
    return ""


def run_identity(model: Any, props: list, **settings: Any) -> dict:
    """What a checkpoint must match to be resumed: the model, its
    configuration, the properties and the search's settings."""
    return {
        "format": FORMAT,
        "model_hash": model.model_hash(),
        "config": json.loads(json.dumps(model.describe(), sort_keys=True, default=str)),
        "properties": [p.id for p in props],
        **settings,
    }


def search_fields(ex: Any, active: set[str], d: int, elapsed: float, complete: bool) -> dict:
    """What every engine's checkpoint says of its search (an Exploration):
    the level it is at, the time spent, whether and why it ended, where each
    level began and the properties still checked."""
    return {
        "depth": d,
        "elapsed_s": round(elapsed, 3),
        "complete": complete,
        "stopped": str(ex.stopped) if complete else "",
        "stop_reason": str(ex.stop_reason) if complete else "",
        "level_start": [int(i) for i in ex.level_start],
        "active": sorted(active),
    }


def restore_search_fields(ex: Any, active: set[str], mark: dict) -> tuple[int, float]:
    """search_fields put back: returns the level and the time spent before;
    a complete search comes back finished (ex.stopped)."""
    try:
        ex.level_start = [int(i) for i in mark["level_start"]]
        active.intersection_update(mark["active"])
        if mark["complete"]:
            ex.stopped, ex.stop_reason = str(mark["stopped"]), str(mark["stop_reason"])
        return int(mark["depth"]), float(mark["elapsed_s"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"not a readable checkpoint ({e!r})") from None


def counts_to_json(counts: dict[tuple[int, int], int]) -> list[list[int]]:
    return [[a, pc, n] for (a, pc), n in sorted(counts.items())]


def counts_from_json(rows: list[list[int]]) -> dict[tuple[int, int], int]:
    return {(int(a), int(pc)): int(n) for a, pc, n in rows}
