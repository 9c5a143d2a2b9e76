"""Files the commands write: whole or not at all."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write to a temporary file in the same directory, then rename: a reader
    (or an interrupted run) never sees half a file. Only a regular file (or
    a new path) is replaced so: a character device (/dev/null, a terminal),
    a FIFO, a socket or /dev/stdout is written to in place, never replaced."""
    path = Path(path)
    try:
        st = os.stat(path)  # follows links: /dev/stdout -> /proc/self/fd/1 -> a pipe
    except (FileNotFoundError, NotADirectoryError):
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a directory", str(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it 0600; give it the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
