"""Output paths named on the command line, checked before any work: a file
that cannot be written is a usage error (exit 2) at once, not when the
first report is written."""

from __future__ import annotations

import os
from pathlib import Path

from checker.errors import UsageError


def _probe_dir(d: Path, what: str) -> None:
    """UsageError unless a file can be created in the existing directory d."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=".gmpcheck-probe-", dir=d)
    except OSError as e:
        raise UsageError(f"{what}: cannot write in {d} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)


def _name_lengths(path: Path, what: str) -> None:
    for part in path.parts:
        if len(part.encode()) > 255:
            raise UsageError(f"{what}: a name in the path is longer than 255 bytes")


def check_out_dir(out: str | None, what: str = "--out") -> None:
    """--out names a directory, or a path one can be made at, in which files
    can be written: found before any work, not when the first report is
    written."""
    if not out:
        return
    path = Path(out)
    what = f"{what} {out}"
    _name_lengths(path, what)
    for p in (path, *path.parents):
        if p.is_symlink() and not p.exists():
            raise UsageError(f"{what}: {p} is a dangling symbolic link")
        if p.exists():
            if not p.is_dir():
                raise UsageError(f"{what}: {p} is not a directory")
            _probe_dir(p, what)
            return


def check_output_file(name: str | None, what: str) -> None:
    """An output file named on the command line (--html, --graph, --junit,
    --sarif): a regular file or a new path in a directory that can be
    written, or a device, FIFO or /dev/stdout (written in place)."""
    if not name:
        return
    path = Path(name)
    what = f"{what} {name}"
    _name_lengths(path, what)
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{what}: is a dangling symbolic link")
    if path.is_dir():
        raise UsageError(f"{what}: is a directory")
    if path.exists() and not path.is_file():
        if not os.access(path, os.W_OK):
            raise UsageError(f"{what}: cannot be written")
        return
    check_out_dir(str(path.parent), what.split()[0] + " directory")
