"""Counterexample files in the Informal Trace Format (ITF).

ITF (Apalache ADR-015) is a JSON object with `vars`, `states` and an
optional `loop`; each state is an object from variable name to value, and
`#meta` objects may carry anything. gmpcheck writes:

    {
      "#meta": {
        "format": "ITF",
        "source": "gmpcheck",
        "schema": "gmpcheck.trace/1",
        "gmpcheck": { "version", "engine", "model", "model_hash", "config",
                      "workload", "mutation", "property", "kind", "message",
                      "depth", "seed", "created_by" }
      },
      "vars": ["G", "P", "M", "sysmon", "sched"],
      "states": [ { "#meta": {"index": 0, "action": "init", "actor": null},
                    "G": [...], "P": [...], ... }, ... ],
      "loop": 3          (lassos only: the state the cycle returns to)
    }

Values are the model's readable view (model/gmp.py `view`), with "no G / no
P / no M" written as -1, since ITF has no null. reports/README.md documents
every field; tests/test_itf.py checks every trace the checker writes
against the schema here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checker import __version__
from checker.engine.trace import Step
from checker.results import write_json
from model.action import Action

SCHEMA = "gmpcheck.trace/1"
VERSION = __version__


class TraceFileError(ValueError):
    """A trace file that cannot be used (a usage error, exit 2)."""


_SCALARS = (int, str, bool, float)


def _itf_value(v: Any) -> Any:
    """The view with None written as -1 (scalars are passed through without a
    call: a 20,000-step recording has millions of them)."""
    if v is None:
        return -1
    t = type(v)
    if t is dict:
        return {k: x if type(x) in _SCALARS else _itf_value(x) for k, x in v.items()}
    if t is list or t is tuple:
        return [x if type(x) in _SCALARS else _itf_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _itf_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_itf_value(x) for x in v]
    return v


def trace_document(model: Any, steps: list[Step], meta: dict, loop: int | None = None) -> dict:
    names = model.actor_names()
    states = []
    for i, st in enumerate(steps):
        view = _itf_value(model.view(st.state))
        view["#meta"] = {
            "index": i,
            "action": str(st.label),
            "actor": None if st.actor is None else names[st.actor],
        }
        states.append(view)
    vars_ = [k for k in states[0] if k != "#meta"] if states else []
    doc: dict[str, Any] = {
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": "gmpcheck",
            "schema": SCHEMA,
            "gmpcheck": {
                "version": VERSION,
                "model": getattr(model, "name", type(model).__name__),
                "model_hash": model.model_hash(),
                "config": model.describe(),
                **meta,
                # A plug-in's name, file and the file's SHA-256 (checker/plugin.py).
                **({"plugin": model.plugin} if getattr(model, "plugin", None) else {}),
            },
        },
        "vars": vars_,
        "states": states,
    }
    if loop is not None:
        doc["loop"] = loop
    return doc


INDENTED_STATES = 2_000  # longer traces are written compact: indenting is Python-slow


def step_actions(doc: dict) -> list[Action]:
    """What each step of a trace document did. A trace file holds each
    step's label, its text only; this is the one place that reads one back
    (Action.parse), for the views of a trace file."""
    return [Action.parse(st["#meta"]["action"]) for st in doc["states"]]


def write_trace(path: Path, doc: dict) -> None:
    write_json(path, doc, indent=1, compact=len(doc.get("states", ())) > INDENTED_STATES)


def read_trace(path: str | Path, max_mb: float | None = None) -> dict:
    """Load and validate a trace file; TraceFileError with one line if unusable.
    At most `max_mb` megabytes are read (checker/schemas.py MAX_INPUT_MB);
    the trace is checked against its schema and, for the GMP model, every
    state against its configuration (checker/schemas.py)."""
    from checker.schemas import MAX_INPUT_MB, InputError, check_trace, load_json

    limit = int((max_mb or MAX_INPUT_MB) * 2**20)
    try:
        doc = load_json(path, limit, "trace")
    except InputError as e:
        raise TraceFileError(str(e)) from None
    problem = validate(doc) or check_trace(doc)
    if problem:
        raise TraceFileError(f"{path}: {problem}")
    return doc


def validate(doc: Any) -> str | None:
    """None if `doc` is a gmpcheck trace of the current schema, else why not."""
    if not isinstance(doc, dict):
        return "not an ITF trace (the top level is not an object)"
    meta = doc.get("#meta")
    if not isinstance(meta, dict) or meta.get("source") != "gmpcheck":
        return "not a gmpcheck trace (#meta.source is not 'gmpcheck')"
    if meta.get("schema") != SCHEMA:
        return f"unknown trace schema {meta.get('schema')!r} (this gmpcheck reads {SCHEMA})"
    g = meta.get("gmpcheck")
    if not isinstance(g, dict):
        return "#meta.gmpcheck is missing"
    for key in ("version", "engine", "model_hash", "config", "property", "depth"):
        if key not in g:
            return f"#meta.gmpcheck.{key} is missing"
    vars_ = doc.get("vars")
    states = doc.get("states")
    if not isinstance(vars_, list) or not all(isinstance(v, str) for v in vars_):
        return "'vars' is not a list of names"
    if not isinstance(states, list) or not states:
        return "'states' is missing or empty"
    for i, st in enumerate(states):
        if not isinstance(st, dict):
            return f"state {i} is not an object"
        missing = [v for v in vars_ if v not in st]
        if missing:
            return f"state {i} lacks {', '.join(missing)} (truncated trace?)"
        m = st.get("#meta")
        if not isinstance(m, dict) or m.get("index") != i or not isinstance(m.get("action"), str):
            return f"state {i} has no valid #meta (index, action)"
    if g["depth"] != len(states) - 1:
        return f"the trace has {len(states) - 1} steps but #meta says {g['depth']} (truncated?)"
    loop = doc.get("loop")
    if loop is not None and (not isinstance(loop, int) or not 0 <= loop < len(states)):
        return f"'loop' = {loop!r} is not a state index"
    return None


def require_current_model(doc: dict, path: str | Path) -> None:
    """TraceFileError unless a GMP trace was written by this version of the
    model (its #meta.gmpcheck.model_hash is model.gmp.MODEL_HASH): a trace
    of another model version may show steps this model no longer takes."""
    g = doc["#meta"]["gmpcheck"]
    if g.get("model") != "gmp":
        return  # another model: its hash is its own business
    from model.gmp import MODEL_HASH

    if g["model_hash"] != MODEL_HASH:
        raise TraceFileError(
            f"{path}: written by another version of the model (model hash {g['model_hash']}, "
            f"this gmpcheck has {MODEL_HASH}); re-run the check for a current trace, "
            "or pass --allow-stale to view it anyway"
        )
    require_current_plugin(doc, path)


def require_current_plugin(doc: dict, path: str | Path) -> None:
    """TraceFileError if the trace was written with a plug-in whose file is
    gone or has changed since (its SHA-256 is recorded in the trace)."""
    plugin = doc["#meta"]["gmpcheck"].get("plugin")
    if not isinstance(plugin, dict):
        return
    from checker.plugin import file_hash

    file = str(plugin.get("file") or "")
    name = plugin.get("name")
    if not Path(file).is_file():
        raise TraceFileError(
            f"{path}: written with plug-in {name!r} from {file}, which is gone; pass "
            "--allow-stale to view it anyway"
        )
    now = file_hash(file)
    if now != plugin.get("sha256"):
        raise TraceFileError(
            f"{path}: written with plug-in {name!r} from {file}, which has changed since "
            f"(sha256 {str(plugin.get('sha256'))[:12]}…, now {now[:12]}…); re-run the check "
            "for a current trace, or pass --allow-stale to view it anyway"
        )
