"""Rendering traces as text: one block per step, with only what changed.

Works on the ITF document (checker/views/itf.py), so the summary of a check run
and `python -m checker view` draw the same thing.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from typing import Any, TextIO

NONE_VALUES = (-1, None)


def use_color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class Style:
    def __init__(self, color: bool):
        self.color = color

    def _w(self, code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if self.color else s

    def bold(self, s: str) -> str:
        return self._w("1", s)

    def red(self, s: str) -> str:
        return self._w("31;1", s)

    def green(self, s: str) -> str:
        return self._w("32", s)

    def yellow(self, s: str) -> str:
        return self._w("33", s)

    def dim(self, s: str) -> str:
        return self._w("2", s)

    def old(self, s: str) -> str:
        return self._w("31", s)

    def new(self, s: str) -> str:
        return self._w("32;1", s)


def fmt_value(v: Any) -> str:
    if v in NONE_VALUES and not isinstance(v, bool):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return "[" + " ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def changed_fields(before: Any, after: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """The fields of two views that differ, as (path, old, new); entities are
    named by id: `P[2].status`, `M[1].pc`, `sched.runq`."""
    out: list[tuple[str, Any, Any]] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for k in after:
            if k == "#meta":
                continue
            sep = "." if prefix else ""
            out += changed_fields(before.get(k), after[k], f"{prefix}{sep}{k}")
        return out
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and after
        and all(isinstance(x, dict) and "id" in x for x in after)
    ):
        for x, y in zip(before, after, strict=True):
            out += changed_fields(x, y, f"{prefix}[{y['id']}]")
        return out
    if before != after:
        out.append((prefix, before, after))
    return out


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every leaf field of a view as (path, value), entities named by id."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            if k != "#meta":
                out += flatten(v, f"{prefix}.{k}" if prefix else k)
        return out
    if isinstance(value, list) and value and all(isinstance(x, dict) and "id" in x for x in value):
        out = []
        for x in value:
            out += flatten({k: v for k, v in x.items() if k != "id"}, f"{prefix}[{x['id']}]")
        return out
    return [(prefix, value)]


def matches(path: str, filters: list[str] | None) -> bool:
    """--fields P1,sched: a filter `P1` matches P[1].*, `sched` matches sched.*,
    anything else matches as a substring."""
    if not filters:
        return True
    for f in filters:
        f = f.strip()
        if len(f) >= 2 and f[0] in "PMG" and f[1:].isdigit():
            if path.startswith(f"{f[0]}[{f[1:]}]"):
                return True
        elif path == f or path.startswith(f + ".") or path.startswith(f + "[") or f in path:
            return True
    return False


def render_step(
    doc: dict, i: int, style: Style, *, full: bool = False, fields: list[str] | None = None
) -> list[str]:
    states = doc["states"]
    st = states[i]
    meta = st["#meta"]
    loop = doc.get("loop")
    mark = ""
    if loop is not None and i == loop:
        mark = style.yellow("  <- cycle starts here")
    if loop is not None and i == len(states) - 1:
        back = doc["#meta"]["gmpcheck"].get("loop_action") or ""
        back = f": {back}" if back.startswith("(") else (f" by {back}" if back else "")
        mark = style.yellow(f"  -> back to step {loop}{back}")
    fail = failing_step(doc)
    if i == fail:
        mark += style.red(f"  <- {doc['#meta']['gmpcheck']['property']} fails here")
    lines = [f"{style.bold(f'{i:4}')}  {meta['action']}{mark}"]
    if full:
        for path, value in flatten({k: st[k] for k in doc["vars"]}):
            if matches(path, fields):
                lines.append(f"        {path} = {fmt_value(value)}")
        return lines
    if i == 0:
        return lines
    for path, old, new in changed_fields(states[i - 1], st):
        if matches(path, fields):
            lines.append(
                f"        {path}: {style.old(fmt_value(old))} -> {style.new(fmt_value(new))}"
            )
    return lines


def render_trace(
    doc: dict,
    *,
    style: Style | None = None,
    compact: bool = False,
    full: bool = False,
    fields: list[str] | None = None,
    only_step: int | None = None,
    head: int = 6,
    tail: int = 14,
) -> list[str]:
    """The whole trace; `compact` keeps the first `head` and last `tail` steps.
    Control characters in the trace's strings are shown escaped (`\\x1b`):
    a trace's labels never reach the terminal as escape sequences."""
    style = style or Style(False)
    doc = escape_controls(doc)
    g = doc["#meta"]["gmpcheck"]
    states = doc["states"]
    n = len(states)
    out = []
    fail = failing_step(doc)
    if fail is None:
        out.append(f"trace of {n - 1} steps: {g.get('message') or ''}".rstrip(": "))
    else:
        if doc.get("loop") is not None:
            where = f"on the cycle of steps {doc['loop']}..{fail}"
        elif g.get("kind") == "action":
            where = f"by step {fail}"
        else:
            where = f"in the state after step {fail}"
        out.append(
            f"{style.red(g['property'] + ' violated')} after {n - 1} steps, {where}: "
            f"{g.get('message', '')}"
        )
        summary = state_summary(states[fail])
        for k, line in enumerate(summary):
            label = f"state {fail}" if k == 0 else ""
            out.append(f"  {label:<9} {line}")
    if doc.get("loop") is not None:
        out.append(f"lasso: steps {doc['loop']}..{n - 1} repeat forever")
    plugin = g.get("plugin")
    if isinstance(plugin, dict):
        out.append(
            f"plug-in {plugin.get('name')} ({plugin.get('file')}:{plugin.get('object')}, "
            f"sha256 {str(plugin.get('sha256'))[:12]})"
        )
    idxs = list(range(n)) if only_step is None else [only_step]
    if compact and only_step is None and n > head + tail + 1:
        idxs = list(range(head)) + [-1] + list(range(n - tail, n))
    for i in idxs:
        if i == -1:
            out.append(style.dim(f"        ... {n - head - tail} steps not shown ..."))
            continue
        out += render_step(doc, i, style, full=full, fields=fields)
    if fail is not None and fail in idxs:
        out.append(style.red(f"  {g['property']} fails here: {g.get('message', '')}"))
    return out


_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}
_CONTROLS.pop(ord(" "), None)


def escape_text(s: str) -> str:
    """`s` with every C0/C1 control character (ESC, BEL, CR, newline...) written
    as a visible escape, so that it prints as text and never acts on a terminal."""
    return s.translate(_CONTROLS)


def escape_controls(v: Any) -> Any:
    """A copy of a JSON value with `escape_text` applied to every string;
    the value itself when it holds no control character."""
    if isinstance(v, str):
        return escape_text(v)
    if isinstance(v, dict):
        return {escape_text(k): escape_controls(x) for k, x in v.items()}
    if isinstance(v, list):
        return [escape_controls(x) for x in v]
    return v


def failing_step(doc: dict) -> int | None:
    """The step at which the trace's property fails: its last state (or, for
    an action property, its last step); None for a trace that shows no
    violation."""
    if not doc["#meta"]["gmpcheck"].get("property"):
        return None
    return len(doc["states"]) - 1


def _ref(prefix: str, v: Any) -> str:
    return "-" if v in NONE_VALUES else f"{prefix}{v}"


def _refs(prefix: str, vs: list) -> str:
    return "[" + " ".join(_ref(prefix, v) for v in vs) + "]"


def state_summary(state: dict) -> list[str]:
    """Where everything is in one GMP state, in three lines: each P (status,
    owner, runnext, ring), each M that exists (pc, P, G, spinning), and the
    global queue, idle lists and spinning counters. Empty for other models."""
    if not all(k in state for k in ("P", "M", "sched")):
        return []
    ps = []
    for p in state["P"]:
        text = f"P{p['id']} {p['status']}"
        if p["m"] not in NONE_VALUES:
            text += f" M{p['m']}"
        if p["runnext"] not in NONE_VALUES or p["runq"]:
            text += f" runnext {_ref('G', p['runnext'])} runq {_refs('G', p['runq'])}"
        ps.append(text)
    ms = []
    for m in state["M"]:
        if m["pc"] == "NOT_CREATED":
            continue
        text = f"M{m['id']} {m['pc']}"
        if m["p"] not in NONE_VALUES:
            text += f" P{m['p']}"
        if m["curg"] not in NONE_VALUES:
            text += f" G{m['curg']}"
        if m.get("spinning"):
            text += " spinning"
        ms.append(text)
    sysmon = state.get("sysmon", {})
    if sysmon.get("pc", "SYSMON") != "SYSMON":  # in a retake's hand-off
        ms.append(
            f"sysmon {sysmon['pc']}" + ("" if sysmon["pp"] in NONE_VALUES else f" P{sysmon['pp']}")
        )
    sc = state["sched"]
    sched = (
        f"sched runq {_refs('G', sc['runq'])} pidle {_refs('P', sc['pidle'])} "
        f"midle {_refs('M', sc['midle'])} nmspinning {sc['nmspinning']} "
        f"needspinning {sc['needspinning']}"
    )
    if sc.get("throw") not in NONE_VALUES:
        sched += f" throw {sc['throw']!r}"
    return [" | ".join(ps), " | ".join(ms), sched]


def print_lines(lines: list[str], stream: TextIO = sys.stdout) -> None:
    stream.write("\n".join(lines) + "\n")


def page_lines(lines: list[str], stream: TextIO = sys.stdout) -> None:
    """Print, through a pager when `stream` is a terminal and the text is
    taller than it: $PAGER, or `less` (with LESS=FRX unless LESS is set:
    colours pass through, and a text that fits on one screen just prints).
    Falls back to printing when no pager can be started."""
    rows = shutil.get_terminal_size().lines
    pager = os.environ.get("PAGER", "less")
    if not stream.isatty() or len(lines) < rows or not pager.strip() or pager.strip() == "cat":
        print_lines(lines, stream)
        return
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        proc = subprocess.Popen(shlex.split(pager), stdin=subprocess.PIPE, text=True, env=env)
    except (OSError, ValueError):
        print_lines(lines, stream)
        return
    assert proc.stdin is not None
    try:
        proc.stdin.write("\n".join(lines) + "\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the reader quit the pager early
    while True:
        try:
            proc.wait()
            break
        except KeyboardInterrupt:
            continue  # Ctrl-C belongs to the pager (less uses it to stop a search)
