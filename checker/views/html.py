"""`python -m checker view TRACE --html OUT.html`: the trace as one page.

The page is a single self-contained file: the stylesheet, the script and
the trace's data are inlined (checker/views/assets/), and a Content-Security-Policy
forbids every fetch, so it opens offline and never touches the network. It
shows one lane per P and per M over the steps (checker/views/lanes.py), the run
queues at the selected step, the fields the step changed, the violated
property and the lasso; steps are chosen by click or with the arrow keys.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from checker.files import write_atomically
from checker.views.lanes import lane_view
from checker.views.render import changed_fields, failing_step, fmt_value


def _asset(name: str) -> str:
    return (resources.files("checker.views") / "assets" / name).read_text(encoding="utf-8")


def page_data(doc: dict, source: str = "", step: int | None = None) -> dict:
    """Everything the page's script draws, as plain JSON data. The page opens
    at `step`, or else at the failing step (else the first)."""
    g = doc["#meta"]["gmpcheck"]
    vars_ = doc["vars"]
    states = [{k: st[k] for k in vars_} for st in doc["states"]]
    steps = []
    for i, st in enumerate(doc["states"]):
        changed = []
        if i > 0:
            changed = [
                [path, fmt_value(old), fmt_value(new)]
                for path, old, new in changed_fields(doc["states"][i - 1], st)
            ]
        steps.append(
            {"action": st["#meta"]["action"], "actor": st["#meta"].get("actor"), "changed": changed}
        )
    return {
        "source": source,
        "meta": {
            k: g.get(k)
            for k in (
                "version",
                "engine",
                "model",
                "model_hash",
                "config",
                "property",
                "kind",
                "message",
                "depth",
                "seed",
                "plugin",
            )
        },
        "vars": vars_,
        "states": states,
        "steps": steps,
        "fail": failing_step(doc),
        "initial": step,
        "loop": doc.get("loop"),
        **lane_view(doc),
    }


def _script_json(data: dict) -> str:
    # Inside <script> only "</script" and "<!--" could end the element early;
    # escaping every "<" rules both out and keeps the JSON valid.
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


def render_html(doc: dict, source: str = "", step: int | None = None) -> str:
    g = doc["#meta"]["gmpcheck"]
    what = f"{g['property']} violated" if g.get("property") else "trace"
    title = f"{what} — {source or 'gmpcheck trace'}"
    page = _asset("viewer.html")
    for key, value in (
        ("{{TITLE}}", html.escape(title)),
        ("{{CSS}}", _asset("viewer.css")),
        ("{{JS}}", _asset("viewer.js")),
        ("{{DATA}}", _script_json(page_data(doc, source, step))),  # last: data is never rescanned
    ):
        page = page.replace(key, value)
    return page


def write_html(doc: dict, path: Path, source: str = "", step: int | None = None) -> None:
    """The page of a trace; TraceFileError (nothing written) for a trace that
    is not valid for its configuration: the page never draws impossible values."""
    from checker.schemas import check_trace
    from checker.views.itf import TraceFileError, validate

    problem = validate(doc) or check_trace(doc)
    if problem:
        raise TraceFileError(f"{source or 'trace'}: {problem}")
    write_atomically(path, render_html(doc, source, step))
