"""Child processes of `python -m checker` under limits, and what they leave.

Used by the hostile-input and fault probe (checker/bench/hostile.py) and by
tests/test_faults.py: the processes below a pid or in a process group (read
from /proc), whether one is alive, the temporary files a run must not leave
behind, and a child run in its own session with a memory, CPU-time and
file-size limit whose resource use is read when it ends."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import checker

ROOT = Path(checker.__file__).resolve().parent.parent

# Raw control characters a terminal acts on: C0 but tab and newline, DEL, C1.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (state, ppid, pgrp, ...), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _table() -> dict[int, list[str]]:
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            fields = _stat(int(d.name))
            if fields is not None:
                out[int(d.name)] = fields
    return out


def descendants(pid: int) -> set[int]:
    """Every live process below pid (by /proc's parent links)."""
    parents = {p: int(f[1]) for p, f in _table().items()}
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c, pp in parents.items():
            if pp == p and c not in out:
                out.add(c)
                todo.append(c)
    return out


def group_members(pgid: int) -> set[int]:
    """The live (not zombie) processes whose process group is pgid."""
    return {p for p, f in _table().items() if int(f[2]) == pgid and f[0] != "Z"}


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def temporaries(directory: Path) -> list[Path]:
    """The temporary files under directory that an atomic write leaves only
    when it is cut (`.NAME.tmp...`, `NAME.tmp`)."""
    if not directory.is_dir():
        return []
    return [
        f
        for f in directory.rglob("*")
        if ".tmp" in f.name or (f.name.startswith(".") and "tmp" in f.name)
    ]


@dataclass
class Outcome:
    """How a child ended: its exit code (negative: the signal that killed
    it), output, times and peak memory, and the processes it left."""

    code: int
    out: str
    err: str
    elapsed_s: float
    maxrss_mb: float
    timed_out: bool = False
    left: list[int] = field(default_factory=list)
    stop_s: float | None = None


class Child:
    """`python -m checker ARGS` in its own session (its pid is its process
    group), stdout and stderr to files, under RLIMIT_AS (memory), RLIMIT_CPU
    and, when given, RLIMIT_FSIZE (a disk that fills at that size)."""

    running: set[Child] = set()  # those not finished yet, for kill_all

    def __init__(
        self,
        args: list[str],
        *,
        cwd: Path,
        limit_mb: int,
        cpu_s: int = 600,
        fsize: int | None = None,
        env: dict[str, str] | None = None,
    ):
        full = dict(os.environ, PYTHONUNBUFFERED="1")
        full["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        full.update(env or {})
        self.limit_mb = limit_mb

        def limits() -> None:
            n = limit_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (n, n))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        # Output goes to temporary files; under a file-size limit (a disk
        # that fills) those would fill too, so it goes through pipes then.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        piped = fsize is not None
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "checker", *args],
            cwd=cwd,
            stdout=subprocess.PIPE if piped else self._out,
            stderr=subprocess.PIPE if piped else self._err,
            stdin=subprocess.DEVNULL,
            env=full,
            preexec_fn=limits,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        Child.running.add(self)
        self._copiers = [
            threading.Thread(target=shutil.copyfileobj, args=(src, dst), daemon=True)
            for src, dst in ((self.proc.stdout, self._out), (self.proc.stderr, self._err))
            if src is not None
        ]
        for t in self._copiers:
            t.start()
        self.status: int | None = None
        self.rss_kb = 0
        self.ended = 0.0

    def poll(self) -> bool:
        """True once the child has ended (it is then reaped, with its usage)."""
        if self.status is not None:
            return True
        pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.ended = time.monotonic()
        self.status = status
        self.rss_kb = usage.ru_maxrss
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return True

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not self.poll():
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)
        return True

    def kill_group(self, also: set[int] | None = None) -> None:
        """SIGKILL every process of the child's group and the given pids."""
        for p in group_members(self.pid) | (also or set()) | {self.pid}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)

    @classmethod
    def kill_all(cls) -> None:
        """SIGKILL the groups of every child not finished (a probe that is
        itself stopped leaves nothing behind)."""
        for child in list(cls.running):
            child.kill_group()
            child.wait(10)
            cls.running.discard(child)

    def finish(self, timeout: float, kids: set[int] | None = None) -> Outcome:
        """Wait for the end (killing the group after timeout); then the
        processes of its group or among `kids` still alive are `left` (and
        are killed, so that nothing outlives the probe)."""
        kids = kids or set()
        timed_out = not self.wait(timeout)
        if timed_out:
            self.kill_group(kids)
            self.wait(30)
        Child.running.discard(self)
        left: set[int] = set()
        for _ in range(10):  # half a second for the last ones to go
            left = group_members(self.pid) | {k for k in kids if alive(k)}
            if not left:
                break
            time.sleep(0.05)
        if left:
            self.kill_group(left)
        for t in self._copiers:
            t.join(10)
        self._out.seek(0)
        self._err.seek(0)
        out = self._out.read().decode("utf-8", "replace")
        err = self._err.read().decode("utf-8", "replace")
        self._out.close()
        self._err.close()
        return Outcome(
            code=self.proc.returncode if self.proc.returncode is not None else -9,
            out=out,
            err=err,
            elapsed_s=(self.ended or time.monotonic()) - self.started,
            maxrss_mb=self.rss_kb / 1024,
            timed_out=timed_out,
            left=sorted(left),
        )
