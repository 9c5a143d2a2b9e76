"""`view` and `view --html` validate a trace on load: impossible values (a G
status that does not exist, an M index past the run's Ms, a negative
counter, a state of the wrong size for its configuration) are refused with
one line and exit 2, and nothing is written; control characters in a
trace's strings never reach the terminal. The HTML page of the same traces,
made without that check, still loads in Chromium with zero page errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import run_cli

from checker.bench.hostile_inputs import IMPOSSIBLE
from checker.views.html import write_html


@pytest.fixture(scope="module")
def good_trace(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("traces")
    code, _, err = run_cli(
        "--cores", "2", "--workload", "syscall-heavy", "--mutation", "exitsyscall-drops-g",
        "--depth", "11", "--quiet", "--out", str(out), "--property", "no-lost-g",
    )  # fmt: skip
    assert code == 1, err
    (trace,) = out.glob("no-lost-g-*.itf.json")
    return trace


def _bad(good: Path, tmp: Path, name: str, change) -> tuple[Path, dict]:
    doc = json.loads(good.read_text())
    doc = copy.deepcopy(doc)
    change(doc["states"][-1])
    path = tmp / (name.replace(" ", "-").replace("=", "").replace(".", "") + ".itf.json")
    path.write_text(json.dumps(doc))
    return path, doc


@pytest.mark.parametrize("name", list(IMPOSSIBLE))
def test_view_refuses_an_impossible_state(good_trace, tmp_path, name):
    path, _ = _bad(good_trace, tmp_path, name, IMPOSSIBLE[name])
    for extra in ((), ("--html", str(tmp_path / "page.html"))):
        code, out, err = run_cli("view", str(path), "--no-pager", *extra)
        assert code == 2, (name, out, err)
        assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert err.startswith(f"error: {path}: states[") and "impossible" in err, err
        assert not (tmp_path / "page.html").exists()
    assert run_cli("replay", str(path))[0] == 2


def test_the_original_trace_is_accepted(good_trace):
    code, out, err = run_cli("view", str(good_trace), "--no-pager")
    assert code == 0 and "no-lost-g violated" in out, err


def test_control_characters_in_a_trace_are_shown_escaped(good_trace, tmp_path):
    doc = json.loads(good_trace.read_text())
    doc["#meta"]["gmpcheck"]["message"] = "\x1b[2J\x1b]0;owned\x07PASS\r"
    doc["states"][1]["#meta"]["action"] = "step\x1b[31m red \x9b"
    path = tmp_path / "esc.itf.json"
    path.write_text(json.dumps(doc))
    code, out, err = run_cli("view", str(path), "--no-pager")
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\x9b" not in out
    assert "\\x1b[2J\\x1b]0;owned\\x07PASS\\x0d" in out and "step\\x1b[31m red \\x9b" in out
    code, _, err = run_cli("replay", str(path))  # refused: the label quoted, escaped
    assert code == 2 and "step\\x1b[31m red \\x9b" in err, err
    assert "\x1b" not in err and "\x9b" not in err


CHROMIUM = "/usr/bin/chromium"


def test_the_html_writer_refuses_impossible_traces_and_its_page_has_no_error(good_trace, tmp_path):
    """Every way to a page goes through the check (write_html too), and the
    page of a valid trace loads, navigates and has zero page errors."""
    from checker.views.itf import TraceFileError

    for name, change in IMPOSSIBLE.items():
        _, doc = _bad(good_trace, tmp_path, name, change)
        with pytest.raises(TraceFileError, match="impossible"):
            write_html(doc, tmp_path / "bad.html", source=name)
        assert not (tmp_path / "bad.html").exists()
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    good = tmp_path / "good.html"
    good_doc = json.loads(good_trace.read_text())
    write_html(good_doc, good, source="good")
    last = len(good_doc["states"]) - 1
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(good.resolve().as_uri())
            page.wait_for_selector("body[data-step]")
            page.keyboard.press("Home")
            for _ in range(last + 2):
                page.keyboard.press("ArrowRight")
            assert errors == []
            assert int(page.evaluate("document.body.dataset.step")) == last
            page.screenshot(path=str(tmp_path / "good.png"))
        finally:
            browser.close()
