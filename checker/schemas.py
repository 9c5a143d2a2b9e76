"""JSON schemas of what gmpcheck reads, and a bounded reader for JSON files.

Traces (`gmpcheck.trace/1`) and gate manifests are validated on load with
the `jsonschema` library (Draft 2020-12), the ecosystem's validator, rather
than with hand-written checks that miss a case. A trace is checked twice:
against the format's schema (the shape of `#meta`, `vars`, `states`), and,
for a trace of the GMP model, each state against a schema made from its
own configuration (a G status that exists, `P[i].m` an M of the run, no
negative counter, a state of the size its configuration gives).

`load_json` reads at most a given number of bytes, refuses JSON nested
deeper than any file gmpcheck writes, integers longer than any it writes,
and strings that cannot be printed (lone surrogates): each is one line,
never an internal error.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import jsonschema

from model.pcs import PC_NAMES
from model.state import G_STATUS_NAMES, P_STATUS_NAMES, THROW_NAMES

MAX_DEPTH = 24  # nesting a gmpcheck file never exceeds
MAX_INPUT_MB = 64  # default cap on what a reader takes in (--max-size raises it)
MAX_MS = 249  # the state encoding's limit (one byte per actor, sysmon too)


class InputError(ValueError):
    """A file that cannot be used as given (one line, exit 2)."""


def read_bounded(path: str | Path, max_bytes: int, what: str = "file") -> bytes:
    """At most `max_bytes` of a file; InputError beyond it (a device such as
    /dev/zero or a huge file is refused, not read until memory runs out)."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory")
    limit_text = f"{max_bytes / 2**20:g} MB"
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        raise InputError(
            f"{path}: {st.st_size / 2**20:,.0f} MB is larger than the {limit_text} a {what} "
            "may be (--max-size MB raises the limit)"
        )
    try:
        with open(p, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror})") from None
    if len(data) > max_bytes:
        raise InputError(
            f"{path}: more than the {limit_text} a {what} may be (--max-size MB raises the limit)"
        )
    return data


def _check_shape(doc: Any) -> str | None:
    """Why a decoded JSON value is not something gmpcheck could have written:
    nesting deeper than MAX_DEPTH or a string that cannot be encoded."""
    stack = [(doc, 0)]
    while stack:
        v, d = stack.pop()
        if d > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(v, dict):
            for k, x in v.items():
                if not _printable(k):
                    return "a key holds a character that cannot be encoded (a lone surrogate)"
                stack.append((x, d + 1))
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
        elif isinstance(v, str) and not _printable(v):
            return "a string holds a character that cannot be encoded (a lone surrogate)"
    return None


def _printable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_json(path: str | Path, max_bytes: int, what: str = "file") -> Any:
    """A JSON file, read within `max_bytes`; InputError with one line if it
    cannot be read, is not JSON, or is shaped unlike any file gmpcheck writes."""
    data = read_bounded(path, max_bytes, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise InputError(f"{path}: not a {what} (JSON nested too deep)") from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits
        raise InputError(f"{path}: not valid JSON ({str(e).split(';')[0]})") from None
    problem = _check_shape(doc)
    if problem:
        raise InputError(f"{path}: not a {what} ({problem})")
    return doc


def first_error(schema: dict, doc: Any) -> str | None:
    """The first (shallowest) schema violation in one line, or None."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return None
    e = errors[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.path).lstrip(".")
    message = e.message
    if e.validator in ("minItems", "maxItems") and isinstance(e.instance, list):
        most = "at least" if e.validator == "minItems" else "at most"
        message = f"{len(e.instance)} entries, where there must be {most} {e.validator_value}"
    if len(message) > 160:
        message = message[:157] + "..."
    return f"{where or 'the document'}: {message}"


# ---- traces -------------------------------------------------------------------------

_INT = {"type": "integer"}
_CONFIG = {
    "type": "object",
    "properties": {
        "cores": {"type": "integer", "minimum": 1, "maximum": 8},
        "max_ms": {"type": "integer", "minimum": 1, "maximum": MAX_MS},
        "ring": {"type": "integer", "minimum": 1, "maximum": 16},
        "period": {"type": "integer", "minimum": 1, "maximum": 250},
        "steal_tries": {"type": "integer", "minimum": 1, "maximum": 8},
        "async_preempt": {"type": "boolean"},
        "workload": {"type": "string", "maxLength": 200},
        "mutation": {"type": ["string", "null"], "maxLength": 200},
        "profile": {"enum": ["go1.25", "go1.26"]},
        "steps": {"enum": ["fine", "macro"]},
    },
}

TRACE_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["#meta", "vars", "states"],
    "properties": {
        "#meta": {
            "type": "object",
            "required": ["source", "schema", "gmpcheck"],
            "properties": {
                "gmpcheck": {
                    "type": "object",
                    "required": ["version", "engine", "model_hash", "config", "property", "depth"],
                    "properties": {
                        "version": {"type": "string", "maxLength": 40},
                        "engine": {"type": "string", "maxLength": 40},
                        "model": {"type": "string", "maxLength": 200},
                        "model_hash": {"type": "string", "maxLength": 200},
                        "config": {"type": "object"},
                        "property": {"type": ["string", "null"], "maxLength": 200},
                        "kind": {"type": ["string", "null"], "maxLength": 200},
                        "message": {"type": ["string", "null"], "maxLength": 10_000},
                        "depth": {"type": "integer", "minimum": 0},
                        "workload": {"type": ["string", "null"], "maxLength": 200},
                        "mutation": {"type": ["string", "null"], "maxLength": 200},
                        "loop_action": {"type": ["string", "null"]},
                    },
                }
            },
        },
        "vars": {"type": "array", "items": {"type": "string", "maxLength": 100}},
        "states": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["#meta"],
                "properties": {
                    "#meta": {
                        "type": "object",
                        "required": ["index", "action"],
                        "properties": {
                            "index": _INT,
                            "action": {"type": "string", "maxLength": 2000},
                            "actor": {"type": ["string", "null"], "maxLength": 100},
                        },
                    }
                },
            },
        },
        "loop": {"type": "integer", "minimum": 0},
    },
}


def _range(lo: int, hi: int) -> dict:
    return {"type": "integer", "minimum": lo, "maximum": hi}


def _list(item: dict, most: int) -> dict:
    return {"type": "array", "items": item, "maxItems": most}


def _objects(n: int, required: list[str], properties: dict) -> dict:
    """An array of exactly `n` objects of one shape (the Gs, Ps or Ms)."""
    return {
        "type": "array",
        "minItems": n,
        "maxItems": n,
        "items": {"type": "object", "required": required, "properties": properties},
    }


def _thread_fields(pc: dict, n_g: int, n_p: int) -> dict:
    """What an M and sysmon share: a thread's program counter and its locals."""
    return {
        "ret": {"anyOf": [pc, {"const": -1}]},
        "gp": _range(-1, n_g - 1),
        "inherit": {"type": "boolean"},
        "pp": _range(-1, n_p - 1),
        "spin_arg": {"type": "boolean"},
        "steal_pass": _range(0, 255),
        "mask": {"type": "integer", "minimum": 0},
        "batch": _list(_range(0, n_g - 1), n_g),
        "pc": pc,
    }


def _sched_fields(n_g: int, n_p: int, n_m: int) -> dict:
    """The global scheduler: its run queue, the idle lists, the spinning
    counts, a throw, the semaphores."""
    return {
        "runq": _list(_range(0, n_g - 1), n_g),
        "pidle": _list(_range(0, n_p - 1), n_p),
        "midle": _list(_range(0, n_m - 1), n_m),
        "nmspinning": _range(0, n_m),
        "needspinning": _range(0, 1),
        "throw": {"anyOf": [{"enum": [x for x in THROW_NAMES if x]}, {"const": -1}]},
        "sema": {"type": "object", "additionalProperties": _range(0, 255)},
    }


def gmp_state_schema(cfg: dict, n_g: int, plugin: bool = False) -> dict:
    """The schema of one state of the GMP model with configuration `cfg` and
    `n_g` goroutine slots: the size of each array and the range of each field.
    A plug-in's trace may name program counters of its own (checker/plugin.py
    checks the plug-in itself when the trace is replayed), so for it a pc is
    any name of the model's spelling."""
    n_p, n_m = cfg["cores"], cfg["max_ms"]
    g, p, m = _range(-1, n_g - 1), _range(-1, n_p - 1), _range(-1, n_m - 1)
    byte = _range(0, 255)
    if plugin:
        pc: dict = {"type": "string", "pattern": "^[A-Z][A-Z0-9_]{0,63}$"}
    else:
        pc = {"enum": sorted(set(PC_NAMES.values()))}
    thread = _thread_fields(pc, n_g, n_p)
    gs = {
        "id": _range(0, n_g - 1),
        "status": {"enum": G_STATUS_NAMES},
        "at": {"type": "string", "maxLength": 200},
        "preempt": {"type": "boolean"},
    }
    ps = {
        "id": _range(0, n_p - 1),
        "status": {"enum": P_STATUS_NAMES},
        "m": m,
        "runnext": g,
        "runq": _list(_range(0, n_g - 1), cfg["ring"]),
        "schedtick": byte,
        "sysmon_sched_age": byte,
        "sysmon_syscall_age": byte,
    }
    ms = {
        "id": _range(0, n_m - 1),
        "p": p,
        "nextp": p,
        "oldp": p,
        "curg": g,
        "spinning": {"type": "boolean"},
        **thread,
    }
    return {
        "type": "object",
        "required": ["G", "P", "M", "sysmon", "sched"],
        "properties": {
            "G": _objects(n_g, ["id", "status"], gs),
            "P": _objects(n_p, ["id", "status", "m", "runnext", "runq"], ps),
            "M": _objects(n_m, ["id", "pc", "p", "curg"], ms),
            "sysmon": {
                "type": "object",
                "required": ["pc"],
                "properties": {"id": {"const": "sysmon"}, **thread},
            },
            "sched": {
                "type": "object",
                "required": ["runq", "pidle", "midle", "nmspinning", "needspinning"],
                "properties": _sched_fields(n_g, n_p, n_m),
            },
        },
    }


def check_trace(doc: Any) -> str | None:
    """Why `doc` is not a valid trace, in one line, or None: the format's
    schema, then (GMP traces) every state against its configuration's."""
    problem = first_error(TRACE_SCHEMA, doc)
    if problem:
        return problem
    g = doc["#meta"]["gmpcheck"]
    if g.get("model", "gmp") != "gmp" or doc.get("vars") != ["G", "P", "M", "sysmon", "sched"]:
        return None  # another model's trace: its states are its own
    cfg = g["config"]
    problem = first_error(_CONFIG, cfg)
    if problem:
        return f"#meta.gmpcheck.config.{problem}"
    if not isinstance(cfg.get("cores"), int) or not isinstance(cfg.get("max_ms"), int):
        return "#meta.gmpcheck.config: cores and max_ms are required"
    cfg = {"ring": 2, **cfg}
    g0 = doc["states"][0].get("G")
    if not isinstance(g0, list) or not 1 <= len(g0) <= 250:
        return "states[0].G: not a list of goroutines"
    schema = gmp_state_schema(cfg, len(g0), plugin=isinstance(g.get("plugin"), dict))
    validator = jsonschema.Draft202012Validator(schema)
    for i, st in enumerate(doc["states"]):
        if validator.is_valid(st):
            continue
        problem = first_error(schema, st)
        return (
            f"states[{i}].{problem} (impossible for its configuration: cores {cfg['cores']}, "
            f"max Ms {cfg['max_ms']}, {len(g0)} goroutines)"
        )
    for i, st in enumerate(doc["states"]):
        for kind in ("G", "P", "M"):
            for j, x in enumerate(st[kind]):
                if x["id"] != j:
                    return f"states[{i}].{kind}[{j}].id is {x['id']}, not {j}"
    return None
