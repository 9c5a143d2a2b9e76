"""Reading Go execution traces: the binary header (which Go wrote it) and
the text `go tool trace -d=parsed` prints (the events, in the order Go's own
parser validated).

A dump is a sequence of blocks, one per event:

    M=15397 P=1 G=-1 StateTransition Time=6142097253504 GoID=6 Runnable->Running Reason=""
    TransitionStack=
    \tmain.main.func1 @ 0x4a11a0
    \t\t/tmp/main.go:16
    <blank>
    Stack=
    \tmain.main @ 0x4a1006
    ...

M, P and G are the thread, the proc and the goroutine the event happened
on (-1: none). A dump saved by `conform` starts with a comment line naming
the trace format (`# go 1.26 trace`), since the text itself does not say
which Go wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Trace formats the conformance check reads: Go 1.26 and later write
# "go 1.26 trace" (Go 1.27 did not change the format). Earlier runtimes had
# _Psyscall and a different P-stealing protocol in the trace.
SUPPORTED_FORMATS = (26,)

_HEADER = re.compile(rb"^go 1\.(\d+) trace\x00\x00\x00")
_DUMP_VERSION = re.compile(r"^# go 1\.(\d+) trace\s*$")
_EVENT = re.compile(r"^M=(-?\d+) P=(-?\d+) G=(-?\d+) (\w+) Time=(-?\d+)(.*)$")
_TRANSITION = re.compile(r'^ (GoID|ProcID)=(\d+) (\w+)->(\w+) Reason="(.*)"$')
_NAME = re.compile(r' Name="([^"]*)"')
# The states a transition may name (Go's internal/trace GoState and ProcState):
# resource -> (states it may leave, states it may enter).
_STATES = {
    "G": (
        {"Undetermined", "NotExist", "Runnable", "Running", "Waiting", "Syscall"},
        {"NotExist", "Runnable", "Running", "Waiting", "Syscall"},
    ),
    "P": ({"Undetermined", "NotExist", "Running", "Idle"}, {"NotExist", "Running", "Idle"}),
}
_SYNC = re.compile(r" N=(\d+)")
_VALUE = re.compile(r"Value=Value\{Uint64\((\d+)\)\}")
_FRAME = re.compile(r"^\t(\S.*?) @ 0x[0-9a-f]+$")


class TraceFormatError(ValueError):
    """A trace that cannot be checked (unknown format or Go version: exit 2)."""


@dataclass(slots=True)
class Event:
    """One event of a dump. `resource` is "G" or "P" for state transitions."""

    index: int  # position among the dump's events
    line: int  # 1-based line of the dump where it starts
    m: int
    p: int
    g: int
    kind: str
    time: int
    text: str  # the event's first line, as printed
    resource: str = ""
    id: int = -1
    frm: str = ""
    to: str = ""
    reason: str = ""
    name: str = ""
    value: int = -1
    stack: tuple[str, ...] = ()  # function names, innermost first
    transition_stack: tuple[str, ...] = field(default=())

    @property
    def is_status(self) -> bool:
        """A status event (GoStatus, ProcStatus): where a G or P stands as a
        generation begins, not a change. The dump prints it as a transition
        from Undetermined in the trace's first generation and from the same
        state in later ones (Go's internal/trace maps `from == GoUndetermined
        || from == to` back to EvGoStatus); a run longer than the tracer's
        generation (about a second) has those in the middle."""
        return self.frm == "Undetermined" or (self.frm == self.to != "")


def binary_format(data: bytes) -> int | None:
    """The `1.NN` of a binary trace's header, or None if it is not one."""
    m = _HEADER.match(data[:32])
    return int(m.group(1)) if m else None


def check_format(version: int, source: str) -> None:
    if version not in SUPPORTED_FORMATS:
        want = ", ".join(f"go 1.{v}" for v in SUPPORTED_FORMATS)
        raise TraceFormatError(
            f"{source}: a go 1.{version} trace; this check reads traces written by Go 1.26 "
            f"or later ({want}), whose system calls keep the P (the go1.26 profile)"
        )


def dump_format(text: str, source: str) -> int:
    """The format a saved dump declares on its first line."""
    first = text.split("\n", 1)[0]
    m = _DUMP_VERSION.match(first)
    if m:
        return int(m.group(1))
    if _EVENT.match(first):
        raise TraceFormatError(
            f"{source}: a `go tool trace -d=parsed` dump does not say which Go wrote it: "
            "add the binary trace's header as a first line, e.g. `# go 1.26 trace`"
        )
    raise TraceFormatError(
        f"{source}: not a Go execution trace or a `go tool trace -d=parsed` dump"
    )


def read_trace_file(
    path: Path, max_bytes: int | None = None
) -> tuple[str, int | None, bytes | None]:
    """("binary", format, data) for a binary trace, ("dump", format, None) for
    a text dump; TraceFormatError for anything else. At most `max_bytes` are
    read (checker/schemas.py MAX_INPUT_MB by default)."""
    from checker.schemas import MAX_INPUT_MB, InputError, read_bounded

    if not path.is_file():
        raise TraceFormatError(f"{path}: no such file")
    try:
        data = read_bounded(path, max_bytes or MAX_INPUT_MB * 2**20, "trace")
    except InputError as e:
        raise TraceFormatError(str(e)) from None
    version = binary_format(data)
    if version is not None:
        check_format(version, str(path))
        return "binary", version, data
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise TraceFormatError(f"{path}: not a Go execution trace (unknown format)") from None
    version = dump_format(text, str(path))
    check_format(version, str(path))
    return "dump", version, None


def parse_dump(text: str, source: str = "<dump>") -> list[Event]:
    """The events of a dump, in order."""
    events: list[Event] = []
    cur: Event | None = None
    stack_kind = ""
    frames: list[str] = []

    def close_stack() -> None:
        nonlocal frames, stack_kind
        if cur is not None and stack_kind:
            if stack_kind == "Stack":
                cur.stack = tuple(frames)
            else:
                cur.transition_stack = tuple(frames)
        frames, stack_kind = [], ""

    for lineno, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        if line.startswith("M="):
            close_stack()
            m = _EVENT.match(line)
            if m is None:
                raise TraceFormatError(f"{source}:{lineno}: not an event line: {line[:80]}")
            mm, pp, gg, kind, tm, rest = m.groups()
            cur = Event(len(events), lineno, int(mm), int(pp), int(gg), kind, int(tm), line)
            if kind == "StateTransition":
                t = _TRANSITION.match(rest)
                if t is None:
                    raise TraceFormatError(f"{source}:{lineno}: unreadable transition: {line[:80]}")
                res, ident, frm, to, reason = t.groups()
                cur.resource = "G" if res == "GoID" else "P"
                leave, enter = _STATES[cur.resource]
                if frm not in leave or to not in enter or frm == to == "NotExist":
                    what = "goroutine" if cur.resource == "G" else "proc"
                    raise TraceFormatError(
                        f"{source}:{lineno}: no {what} goes from {frm} to {to}: {line[:80]}"
                    )
                cur.id, cur.frm, cur.to, cur.reason = int(ident), frm, to, reason
            else:
                n = _NAME.search(rest)
                if n:
                    cur.name = n.group(1)
                if kind == "Sync":
                    s = _SYNC.search(rest)
                    cur.value = int(s.group(1)) if s else -1
                elif kind == "Metric":
                    v = _VALUE.search(rest)
                    cur.value = int(v.group(1)) if v else -1
            events.append(cur)
        elif line in ("Stack=", "TransitionStack="):
            close_stack()
            stack_kind = line[:-1]
        elif line.startswith("\t\t"):
            continue  # file:line of the frame above
        elif line.startswith("\t"):
            f = _FRAME.match(line)
            if f and stack_kind:
                frames.append(f.group(1))
        # other lines (attributes printed on their own lines) carry nothing we use
    close_stack()
    if not events or events[0].kind != "Sync":
        raise TraceFormatError(f"{source}: no events (an empty or truncated trace?)")
    return events
