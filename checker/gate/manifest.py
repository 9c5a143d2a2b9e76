"""The gate's manifest (the committed counts: gate_manifest.json, package
data) and its outputs for CI: JUnit XML and SARIF."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from checker.gate.cells import MANIFEST_SCHEMA, CellResult, GateError
from checker.results import json_text, write_json

MANIFEST_JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "cells"],
    "properties": {
        "schema": {"const": MANIFEST_SCHEMA},
        "cells": {
            "type": "object",
            "propertyNames": {"maxLength": 200},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"maxLength": 40},
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        },
    },
}


def load_manifest(path: Path) -> dict[str, dict[str, int]]:
    """The committed counts, validated (checker/schemas.py, jsonschema) before
    any cell runs; GateError with one line otherwise."""
    from checker.schemas import MAX_INPUT_MB, InputError, first_error, load_json

    if not path.exists():
        raise GateError(f"{path}: no manifest (run the gate with --update-manifest)")
    try:
        doc = load_json(path, MAX_INPUT_MB * 2**20, "gate manifest")
    except InputError as e:
        raise GateError(f"not a readable manifest: {e}") from None
    problem = first_error(MANIFEST_JSON_SCHEMA, doc)
    if problem:
        raise GateError(f"{path}: not a gate manifest of schema {MANIFEST_SCHEMA} ({problem})")
    return doc["cells"]


def manifest_diff(results: list[CellResult], manifest: dict) -> list[str]:
    diff = []
    for r in results:
        if not r.cell.counted:
            continue
        old = manifest.get(r.cell.id)
        if old is None:
            diff.append(f"{r.cell.id}: not in the manifest (now {_fmt_counts(r.counts)})")
            continue
        for k in sorted(set(old) | set(r.counts)):
            if old.get(k) != r.counts.get(k):
                diff.append(f"{r.cell.id}: {k} {old.get(k)} -> {r.counts.get(k)}")
    return diff


def _fmt_counts(c: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in c.items())


def write_manifest(path: Path, results: list[CellResult], keep: dict | None = None) -> None:
    cells = dict(keep or {})
    for r in results:
        if r.cell.counted:
            cells[r.cell.id] = r.counts
    doc = {"schema": MANIFEST_SCHEMA, "cells": dict(sorted(cells.items()))}
    write_json(path, doc, indent=1)


# ---- outputs for CI ---------------------------------------------------------------


def junit_xml(results: list[CellResult]) -> str:
    failures = sum(1 for r in results if not r.ok)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name="gmpcheck gate" tests="{len(results)}" failures="{failures}">',
    ]
    for r in results:
        name = quoteattr(r.cell.id)
        out.append(
            f'  <testcase classname="gate.{r.cell.kind}" name={name} time="{r.elapsed:.3f}">'
        )
        if not r.ok:
            where = f"counterexample: {r.trace}\n" if r.trace else ""
            body = where + "\n".join(r.excerpt)
            out.append(f"    <failure message={quoteattr(r.problem)}>{escape(body)}</failure>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"


def sarif(results: list[CellResult]) -> str:
    """A violated property as a SARIF result, at the model step its
    counterexample's last action ran. Unexpected verdicts only: a mutation
    caught as expected is not a finding about the code under review."""
    from specs import all_properties

    rules = [{"id": p.id, "shortDescription": {"text": p.statement}} for p in all_properties()]
    res = []
    for r in results:
        if r.ok or not r.failed_property:
            continue
        entry: dict[str, Any] = {
            "ruleId": r.failed_property,
            "level": "error",
            "message": {"text": f"{r.cell.id}: {r.problem}" + (f" ({r.trace})" if r.trace else "")},
        }
        if r.location:
            entry["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.location[0]},
                        "region": {"startLine": r.location[1]},
                    }
                }
            ]
        res.append(entry)
    doc = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "gmpcheck", "rules": rules}}, "results": res}],
    }
    return json_text(doc, indent=1)
