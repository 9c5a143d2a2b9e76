"""The one JSON writer: every JSON document a command prints (`--json`) or
writes (traces, the gate's manifest and SARIF, benchmark results,
predictions) is made here, from a summary of checker/results or a plain
value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from checker.files import write_atomically


@runtime_checkable
class ToJson(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def json_text(value: Any, *, indent: int | None = 2, compact: bool = False) -> str:
    """The document as text, with its final newline: indented by `indent`,
    or on one line without spaces (`compact`, the large traces)."""
    doc = value.to_json() if isinstance(value, ToJson) else value
    if compact:
        return json.dumps(doc, separators=(",", ":")) + "\n"
    return json.dumps(doc, indent=indent) + "\n"


def print_json(value: Any, *, indent: int | None = 2) -> None:
    """The document on standard output (what `--json` prints)."""
    print(json_text(value, indent=indent), end="")


def write_json(
    path: Path | str, value: Any, *, indent: int | None = 2, compact: bool = False
) -> None:
    """The document in a file, written whole or not at all (checker/files.py)."""
    write_atomically(Path(path), json_text(value, indent=indent, compact=compact))
