"""Hostile input, fuzzed with hypothesis: mutated and generated traces for
`view`, `view --html` and `replay`, dumps for `conform --trace`, manifests
for `gate`. Whatever the input, the exit code is one of 0, 1, 2, 4, 5, 6
(never 70), stderr holds no traceback, and an input too large or endless
is refused within a memory limit."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.cli import main

ALLOWED = {0, 1, 2, 4, 5, 6}
# Go's goroutine and proc states, and names that are neither.
DUMP_STATES = [
    "Undetermined",
    "NotExist",
    "Runnable",
    "Running",
    "Waiting",
    "Syscall",
    "Idle",
    "Bogus",
]
FUZZ = settings(
    max_examples=int(os.environ.get("GMPCHECK_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def trace_text(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("t")
    code, _, err = run_cli(
        "--cores", "1", "--workload", "syscall-heavy", "--mutation", "exitsyscall-drops-g",
        "--depth", "11", "--quiet", "--property", "no-lost-g", "--out", str(out),
    )  # fmt: skip
    assert code == 1, err
    (f,) = out.glob("*.itf.json")
    return f.read_text()


def _paths(v, prefix=()):
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, (*prefix, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _paths(x, (*prefix, i))


def _set(doc, path, value):
    if not path:
        return value
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return doc


def _run(capsys, argv) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def _judge(code: int, err: str, what) -> None:
    assert code in ALLOWED, (code, err, what)
    assert "Traceback" not in err and "internal error" not in err, (err, what)


@FUZZ
@given(data=st.data())
def test_mutated_traces_are_shown_or_refused(trace_text, tmp_path, capsys, data):
    doc = json.loads(trace_text)
    paths = list(_paths(doc))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        doc = _set(doc, path, data.draw(JSON))
        paths = list(_paths(doc))
    text = json.dumps(doc)
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]  # truncated
    f = tmp_path / "t.itf.json"
    f.write_text(text)
    for argv in (
        ["view", str(f), "--no-pager"],
        ["view", str(f), "--html", str(tmp_path / "p.html")],
        ["view", str(f), "--no-pager", "--full", "--step", "3"],
    ):
        _judge(*_run(capsys, argv), argv)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_traces_replay_or_are_refused(trace_text, tmp_path, capsys, data):
    doc = json.loads(trace_text)
    paths = [p for p in _paths(doc) if p[:1] == ("states",)]
    path = data.draw(st.sampled_from(paths))
    doc = _set(doc, path, data.draw(JSON))
    f = tmp_path / "r.itf.json"
    f.write_text(json.dumps(doc))
    _judge(*_run(capsys, ["replay", str(f)]), path)


@FUZZ
@given(blob=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_generated_bytes_as_trace_dump_and_manifest(tmp_path, capsys, blob):
    f = tmp_path / "x"
    f.write_bytes(blob)
    for argv in (
        ["view", str(f), "--no-pager"],
        ["conform", "--trace", str(f), "--quiet"],
        ["gate", "--cell", "no/such", "--manifest", str(f)],
    ):
        _judge(*_run(capsys, argv), argv)


@FUZZ
@given(data=st.data())
def test_mutated_dumps_are_checked_or_refused(tmp_path, capsys, data):
    src = (ROOT / "tests" / "conform" / "traces" / "spawn-p2.parsed.txt").read_text()
    lines = src.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        if len(lines) < 3:
            break
        i = data.draw(st.integers(1, len(lines) - 1))
        op = data.draw(st.sampled_from(["drop", "dup", "garble", "cut", "states", "ids", "swap"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "garble":
            lines[i] = data.draw(st.text(max_size=60)) + "\n"
        elif op == "states":  # well-formed lines whose states are any names, known or not
            name = st.sampled_from(DUMP_STATES)
            swap = f"{data.draw(name)}->{data.draw(name)}"
            lines[i] = re.sub(r"\w+->\w+", swap, lines[i])
        elif op == "ids":  # a thread, proc or goroutine the rest of the trace does not know
            ids = st.sampled_from(["-1", "0", "1", "5", "255", "256", "99999"])
            fields = re.findall(r"\b(?:M|P|G|GoID|ProcID)=-?\d+", lines[i])
            for f in fields:
                lines[i] = lines[i].replace(f, f"{f.split('=')[0]}={data.draw(ids)}", 1)
        elif op == "swap":
            j = data.draw(st.integers(1, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines = lines[:i]
    f = tmp_path / "d.parsed.txt"
    f.write_text("".join(lines))
    _judge(*_run(capsys, ["conform", "--trace", str(f), "--quiet"]), "dump")


@FUZZ
@given(cells=JSON)
def test_generated_manifests_are_refused_before_any_cell_runs(tmp_path, capsys, cells):
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"schema": "gmpcheck.gate-manifest/1", "cells": cells}))
    code, err = _run(capsys, ["gate", "--cell", "no/such/cell", "--manifest", str(f)])
    _judge(code, err, cells)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["view", "replay"])
def test_endless_input_is_refused_within_a_memory_limit(device, command):
    def limit() -> None:
        n = 1500 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (n, n))

    proc = subprocess.run(
        [sys.executable, "-m", "checker", command, device],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert proc.returncode == 2, proc.stderr
    assert "--max-size" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_large_trace_is_refused_unless_the_limit_is_raised(trace_text, tmp_path):
    f = tmp_path / "big.itf.json"
    doc = json.loads(trace_text)
    doc["#meta"]["padding"] = "x" * (3 * 2**20)
    f.write_text(json.dumps(doc))
    code, _, err = run_cli("view", str(f), "--no-pager", "--max-size", "2")
    assert code == 2 and "larger than the 2 MB" in err
    code, out, err = run_cli("view", str(f), "--no-pager", "--max-size", "8")
    assert code == 0, err


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda d: d["#meta"]["gmpcheck"]["config"].update(cores=1.5), "cores"),
        (lambda d: d["#meta"]["gmpcheck"]["config"].update(max_ms=10**8), "max_ms"),
        (lambda d: d["#meta"]["gmpcheck"].update(property=["a"]), "property"),
        (lambda d: d["states"][1]["#meta"].update(actor=7), "actor"),
    ],
)
def test_wrong_types_in_a_trace_are_one_line(trace_text, tmp_path, edit, needle):
    doc = json.loads(trace_text)
    edit(doc)
    f = tmp_path / "w.itf.json"
    f.write_text(json.dumps(doc))
    for argv in (["view", str(f), "--no-pager"], ["replay", str(f)]):
        code, _, err = run_cli(*argv)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_deep_nesting_huge_integers_and_lone_surrogates(tmp_path):
    cases = {
        "deep": "[" * 900 + "]" * 900,
        "digits": '{"a": ' + "7" * 5000 + "}",
        "surrogate": '{"#meta": {"source": "gmpcheck", "x": "\\ud800"}}',
    }
    for name, text in cases.items():
        f = tmp_path / f"{name}.json"
        f.write_text(text)
        for argv in (["view", str(f)], ["replay", str(f)], ["gate", "--manifest", str(f)]):
            code, _, err = run_cli(*argv)
            assert code == 2 and len(err.strip().splitlines()) == 1, (name, argv, err)
