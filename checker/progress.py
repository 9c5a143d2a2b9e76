"""Progress lines on stderr for the long phases of every command.

One `Phases` object per command run: each phase (the safety search, the
liveness search and its analysis, a BMC depth, the proof, a gate cell,
conform's search) is a line drawn by rich (phase name, done/total where
known, rate, elapsed time, an estimate of the time left where a total is
known). Nothing is drawn with `--quiet` or when stderr is not a terminal,
so logs and pipes get no control sequences. Each phase counts on its own
line from zero, so no counter goes backwards when the next phase starts.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# The phase under way and how far it got, for a message when memory runs out.
CURRENT: dict[str, Any] = {}


def mark(text: str) -> None:
    """A point within a phase, for the tests (GMPCHECK_PHASE_FILE); nothing else."""
    path = os.environ.get("GMPCHECK_PHASE_FILE")
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


def announce(name: str, unit: str = "") -> None:
    """A phase starts: remembered for the out-of-memory message, and appended
    to the file named by GMPCHECK_PHASE_FILE when it is set (the tests use it
    to send a signal into a given phase)."""
    CURRENT.update(phase=name, done=0, unit=unit or "steps")
    path = os.environ.get("GMPCHECK_PHASE_FILE")
    if path:
        with open(path, "a") as f:
            f.write(name + "\n")


class _Count(ProgressColumn):
    """done/total, or done alone when the total is not known."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        if task.total is None:
            return Text(f"{done:,}")
        return Text(f"{done:,}/{int(task.total):,}")


class _Left(ProgressColumn):
    """The estimated time left, only where a total is known."""

    def __init__(self) -> None:
        super().__init__()
        self._remaining = TimeRemainingColumn()

    def render(self, task: Task) -> Text:
        if task.total is None or not task.completed:
            return Text("")
        return Text.assemble("left ", self._remaining.render(task))


class Phase:
    """One phase's line: `update(done, total, info)` as it goes, `finish()`."""

    def __init__(self, owner: Phases | None, task: TaskID | None, unit: str):
        self._owner = owner
        self._task = task
        self._unit = unit
        self._start = time.monotonic()
        self.done = 0

    def update(self, done: int | None = None, total: int | None = None, info: str = "") -> None:
        if done is not None:
            self.done = done
            CURRENT["done"] = done
        if self._owner is None or self._task is None or self._owner.progress is None:
            return
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = f"{self.done / elapsed:,.0f} {self._unit}/s" if self._unit else ""
        fields: dict[str, Any] = {"info": "  ".join(x for x in (info, rate) if x)}
        if total is not None:
            fields["total"] = total
        self._owner.progress.update(self._task, completed=self.done, **fields)

    def finish(self) -> None:
        owner = self._owner
        if owner is not None and owner.progress is not None and self._task is not None:
            owner.progress.remove_task(self._task)
            self._task = None

    def __enter__(self) -> Phase:
        return self

    def __exit__(self, *exc) -> None:
        self.finish()


class Phases:
    """The progress display of one command. `enabled` is "not --quiet"; it is
    also off when stderr is not a terminal."""

    def __init__(self, enabled: bool = True, *, force_terminal: bool | None = None):
        tty = stderr_is_terminal() if force_terminal is None else force_terminal
        self.enabled = enabled and tty
        self.progress: Progress | None = None
        if self.enabled:
            self.console = Console(stderr=True, force_terminal=force_terminal)
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=24),
                _Count(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                _Left(),
                console=self.console,
                transient=True,
                refresh_per_second=4,
            )
            self.progress.start()

    def phase(self, name: str, total: int | None = None, unit: str = "") -> Phase:
        announce(name, unit)
        if self.progress is None:
            return Phase(None, None, unit)
        task = self.progress.add_task(name, total=total, info="")
        return Phase(self, task, unit)

    def note(self, text: str) -> None:
        """A line printed above the progress lines (on stderr)."""
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def __enter__(self) -> Phases:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


QUIET = Phases(False)
