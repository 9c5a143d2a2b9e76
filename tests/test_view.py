"""`python -m checker view`: the terminal view, long traces, the pager, bad
input, and the HTML page written by `view --html` (its content; the browser
tests are in tests/test_html.py)."""

from __future__ import annotations

import io
import json
import re
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import run_cli

from checker.bench.views import long_trace
from checker.views.html import page_data, render_html
from checker.views.itf import read_trace, validate
from checker.views.render import Style, changed_fields, page_lines, render_trace
from model.gmp import MODEL_HASH

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("view")
    code, _, err = run_cli(
        "--cores", "1", "--workload", "syscall-heavy", "--mutation", "exitsyscall-drops-g",
        "--depth", "11", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert code == 1, err
    return next(out.glob("*.itf.json"))


@pytest.fixture(scope="module")
def long_doc() -> dict:
    return long_trace(2000, seed=7)


def _step_headers(lines: list[str]) -> list[int]:
    return [int(m[1]) for line in lines if (m := re.match(r"^\s*(\d+)  \S", line))]


def test_the_top_names_the_property_the_failing_step_and_its_state(trace):
    doc = read_trace(trace)
    last = len(doc["states"]) - 1
    code, out, _ = run_cli("view", str(trace))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(
        f"no-lost-g violated after {last} steps, in the state after step {last}"
    )
    # The failing state in brief, read off the trace's last state.
    final = doc["states"][-1]
    top = "\n".join(lines[1:4])
    for p in final["P"]:
        assert f"P{p['id']} {p['status']}" in top
    for m in final["M"]:
        if m["pc"] != "NOT_CREATED":
            assert f"M{m['id']} {m['pc']}" in top
    assert f"nmspinning {final['sched']['nmspinning']}" in top
    # ...and again at the failing step itself.
    header = next(line for line in lines if line.startswith(f"{last:4}  "))
    assert "<- no-lost-g fails here" in header
    assert lines[-1].startswith("  no-lost-g fails here: ")


def test_the_failing_mark_follows_the_shown_steps(trace):
    doc = read_trace(trace)
    last = len(doc["states"]) - 1
    _, out, _ = run_cli("view", str(trace), "--step", str(last))
    assert "fails here" in out.splitlines()[-1]
    _, out, _ = run_cli("view", str(trace), "--step", "2")
    assert "<- no-lost-g fails here" not in out and "fails here:" not in out
    assert "no-lost-g violated" in out  # the top still says what the trace shows


def test_colour_only_when_asked_for(trace):
    doc = read_trace(trace)
    coloured = "\n".join(render_trace(doc, style=Style(True)))
    plain = "\n".join(render_trace(doc, style=Style(False)))
    assert "\x1b[" in coloured and "\x1b[" not in plain
    assert ANSI.sub("", coloured) == plain
    _, out, _ = run_cli("view", str(trace))  # stdout is a pipe: plain text
    assert "\x1b[" not in out


def test_a_lasso_is_marked_where_the_cycle_starts_and_ends(trace):
    doc = read_trace(trace)
    doc["loop"] = 4
    lines = render_trace(doc)
    n = len(doc["states"]) - 1
    assert f"violated after {n} steps, on the cycle of steps 4..{n}:" in lines[0]
    assert f"lasso: steps 4..{n} repeat forever" in lines
    assert any(line.startswith("   4  ") and "<- cycle starts here" in line for line in lines)
    assert any(line.startswith(f"{n:4}  ") and "-> back to step 4" in line for line in lines)


def test_a_long_trace_renders_whole_and_compact(long_doc):
    n = len(long_doc["states"]) - 1
    assert n == 2000 and validate(long_doc) is None
    full = render_trace(long_doc)
    assert _step_headers(full) == list(range(n + 1))
    # Every changed field of every step is shown once.
    changes = sum(len(changed_fields(a, b)) for a, b in pairwise(long_doc["states"]))
    assert sum(1 for line in full if line.startswith("        ") and " -> " in line) == changes
    compact = render_trace(long_doc, compact=True, head=5, tail=7)
    assert _step_headers(compact) == [*range(5), *range(n - 6, n + 1)]
    assert f"... {n + 1 - 12} steps not shown ..." in "\n".join(compact)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_long_text_goes_through_the_pager_on_a_terminal(tmp_path, monkeypatch):
    got = tmp_path / "paged.txt"
    pager = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write(sys.stdin.read())\""
    monkeypatch.setenv("PAGER", f"{pager} {got}")
    monkeypatch.setenv("LINES", "20")
    monkeypatch.setenv("COLUMNS", "80")
    lines = [f"line {i}" for i in range(50)]
    screen = _Terminal()
    page_lines(lines, screen)
    assert got.read_text() == "\n".join(lines) + "\n" and screen.getvalue() == ""
    # Short text, or output that is not a terminal, is printed as it is.
    got.unlink()
    page_lines(lines[:5], screen)
    assert screen.getvalue() == "\n".join(lines[:5]) + "\n" and not got.exists()
    pipe = io.StringIO()
    page_lines(lines, pipe)
    assert pipe.getvalue() == "\n".join(lines) + "\n" and not got.exists()
    # A pager that cannot be started: print instead.
    monkeypatch.setenv("PAGER", str(tmp_path / "no-such-pager"))
    screen = _Terminal()
    page_lines(lines, screen)
    assert screen.getvalue() == "\n".join(lines) + "\n"


def test_a_trace_of_another_model_version_is_refused(trace, tmp_path):
    doc = json.loads(trace.read_text())
    doc["#meta"]["gmpcheck"]["model_hash"] = "0123456789abcdef"
    stale = tmp_path / "stale.itf.json"
    stale.write_text(json.dumps(doc))
    for extra in ([], ["--html", str(tmp_path / "stale.html")]):
        code, out, err = run_cli("view", str(stale), *extra)
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "another version of the model" in err
        assert "0123456789abcdef" in err and MODEL_HASH in err
    assert not (tmp_path / "stale.html").exists()
    code, out, _ = run_cli("view", str(stale), "--allow-stale")
    assert code == 0 and "no-lost-g violated" in out


@pytest.mark.parametrize(
    "content,needle",
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ('{"#meta": {"source": "gmpcheck", "schema": "gmpcheck.trace/2"}}', "unknown trace schema"),
    ],
)
def test_view_html_on_bad_input_writes_nothing(tmp_path, content, needle):
    f = tmp_path / "t.itf.json"
    if content is not None:
        f.write_text(content)
    out = tmp_path / "page.html"
    code, _, err = run_cli("view", str(f), "--html", str(out))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == ([f] if content is not None else [])


def test_view_html_writes_one_self_contained_page(trace, tmp_path):
    out = tmp_path / "sub" / "page.html"
    code, text, err = run_cli("view", str(trace), "--html", str(out))
    assert code == 0, err
    assert f"wrote {out}" in text
    page = out.read_text()
    # Nothing is loaded from anywhere: no URL-bearing attributes at all, and
    # a policy that forbids every fetch.
    assert not re.search(r"\b(src|href)\s*=", page)
    assert not re.search(r"@import|url\((?!#)", page)
    assert "default-src 'none'" in page
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temporary left
    code, _, err = run_cli("view", str(trace), "--html", str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_the_page_carries_the_trace(trace):
    doc = read_trace(trace)
    data = page_data(doc, "t.itf.json")
    n = len(doc["states"])
    assert data["fail"] == n - 1 and data["meta"]["property"] == "no-lost-g"
    assert [s["action"] for s in data["steps"]] == [s["#meta"]["action"] for s in doc["states"]]
    for i in range(1, n):
        want = changed_fields(doc["states"][i - 1], doc["states"][i])
        assert [c[0] for c in data["steps"][i]["changed"]] == [w[0] for w in want]
    # The embedded JSON survives a label that would close the script element.
    doc["states"][1]["#meta"]["action"] = "</script><script>alert(1)</script>"
    page = render_html(doc)
    assert "</script><script>alert(1)" not in page
    embedded = page.split('<script type="application/json" id="trace-data">')[1]
    data = json.loads(embedded.split("</script>")[0])
    assert data["steps"][1]["action"] == "</script><script>alert(1)</script>"


def test_view_html_options(trace, tmp_path):
    out = tmp_path / "p.html"
    code, _, err = run_cli("view", str(trace), "--html", str(out), "--step", "3")
    assert code == 0, err
    page = out.read_text()
    data = json.loads(page.split('id="trace-data">')[1].split("</script>")[0])
    assert data["initial"] == 3
    for flag in ("--full", "--compact"):
        code, _, err = run_cli("view", str(trace), "--html", str(tmp_path / "q.html"), flag)
        assert code == 2 and f"{flag} is for the text view" in err
    code, _, err = run_cli("view", str(trace), "--html", str(tmp_path / "q.html"), "--step", "99")
    assert code == 2 and "the trace has steps 0.." in err
    assert not (tmp_path / "q.html").exists()
