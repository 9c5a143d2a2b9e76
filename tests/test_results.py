"""Every command's JSON (checker/results): each summary type writes its
document field for field in the order users' scripts read; the commands
print those shapes; and every JSON document a command prints or writes goes
through the one writer (checker/results/write.py)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from conftest import ROOT, run_cli

from checker.results import (
    CheckSummary,
    ConformFailure,
    ConformSummary,
    EnginesSummary,
    ExplicitFigures,
    GateCell,
    GateSummary,
    InvariantResult,
    Lemmas,
    ProgramRun,
    ProofSummary,
    PropertyResult,
    ReplaySummary,
    SearchSettings,
    SmtFigures,
    SmtSummary,
    json_text,
    print_json,
    write_json,
)
from checker.verdict import Verdict


def _same(got: dict, want: dict) -> None:
    """Equal, and in the same order at every level (json.dumps keeps it)."""
    assert json.dumps(got, indent=1) == json.dumps(want, indent=1)


# ---- each summary type's document -------------------------------------------------


def _explicit(**more: Any) -> CheckSummary:
    return CheckSummary(
        version="0.1.0",
        engine="explicit",
        model={"cores": 1, "workload": "mixed"},
        model_hash="abc",
        search=SearchSettings(depth=4, symmetry=True, workers=2, strict=False),
        result=ExplicitFigures(
            states=10,
            transitions=12,
            depth_reached=4,
            stopped="depth",
            liveness_stopped=None,
            stop_reason=None,
            complete=False,
            truncated_states=0,
            bounds_hit={},
            elapsed_s=0.5,
            states_per_s=20,
        ),
        properties=[
            PropertyResult("a", "invariant", "A holds", Verdict.PASS, bounded=True),
            PropertyResult(
                "b", "invariant", "B holds", Verdict.FAIL, depth=3, message="m", trace="t.json"
            ),
            PropertyResult(
                "c",
                "invariant",
                "C holds",
                Verdict.UNKNOWN,
                checked_states=5,
                complete_depth=2,
                reason="r",
            ),
            PropertyResult(
                "d",
                "liveness",
                "D",
                Verdict.FAIL,
                fairness=["m"],
                reason="why",
                depth=6,
                message="lasso",
                loop=2,
                write_error="x: denied",
            ),
            PropertyResult("e", "liveness", "E", Verdict.NOT_CHECKED),
        ],
        exit_code=1,
        traces={"b": {"states": []}},
        **more,
    )


PROPERTIES = [
    {"id": "a", "kind": "invariant", "statement": "A holds", "verdict": "pass", "bounded": True},
    {"id": "b", "kind": "invariant", "statement": "B holds", "verdict": "fail", "depth": 3,
     "message": "m", "trace": "t.json"},
    {"id": "c", "kind": "invariant", "statement": "C holds", "verdict": "unknown",
     "checked_states": 5, "complete_depth": 2, "reason": "r"},
    {"id": "d", "kind": "liveness", "statement": "D", "verdict": "fail", "fairness": ["m"],
     "reason": "why", "depth": 6, "message": "lasso", "loop": 2, "write_error": "x: denied"},
    {"id": "e", "kind": "liveness", "statement": "E", "verdict": "not-checked"},
]  # fmt: skip
HEAD = {"schema": "gmpcheck.summary/1", "version": "0.1.0"}
RESULT = {
    "states": 10, "transitions": 12, "depth_reached": 4, "stopped": "depth",
    "liveness_stopped": None, "stop_reason": None, "complete": False, "truncated_states": 0,
    "bounds_hit": {}, "elapsed_s": 0.5, "states_per_s": 20,
}  # fmt: skip


def test_the_check_summary_document():
    _same(
        _explicit().to_json(),
        {
            **HEAD, "engine": "explicit", "model": {"cores": 1, "workload": "mixed"},
            "model_hash": "abc",
            "search": {"depth": 4, "symmetry": True, "workers": 2, "strict": False},
            "result": RESULT, "properties": PROPERTIES, "exit_code": 1,
        },
    )  # fmt: skip
    # What `check` adds after the search, each in its place.
    s = _explicit(plugin={"name": "p"}, plugin_notes=[], coverage=[{"actor": "M"}])
    s.search.kernel, s.search.kernel_note = "python", ""
    s.result.memory, s.result.total_s, s.result.liveness_graph = {"peak_rss_mb": 1.0}, 0.7, {}
    s.checkpoint, s.graph = {"directory": "cp"}, {"file": "g.dot"}
    doc = s.to_json()
    assert list(doc) == [
        "schema", "version", "engine", "model", "model_hash", "search", "result", "properties",
        "exit_code", "plugin", "plugin_notes", "checkpoint", "graph", "coverage",
    ]  # fmt: skip
    search = ["depth", "symmetry", "workers", "strict", "kernel", "kernel_note"]
    assert list(doc["search"]) == search
    assert list(doc["result"]) == [*RESULT, "memory", "total_s", "liveness_graph"]
    assert "traces" not in doc and "_traces" not in doc


def _smt(**more: Any) -> SmtSummary:
    return SmtSummary(
        version="0.1.0", model={"cores": 1}, model_hash="abc", depth=4, solver_timeout_s=None,
        result=SmtFigures(4, "depth", 120, 1.5, 2.25, [0.1, 0.2]),
        properties=[PropertyResult("a", "invariant", "A", Verdict.INCONCLUSIVE, reason="t")],
        exit_code=4, **more,
    )  # fmt: skip


SMT = {
    **HEAD, "engine": "smt", "model": {"cores": 1}, "model_hash": "abc",
    "search": {"depth": 4, "solver_timeout_s": None},
    "result": {"depth_reached": 4, "stopped": "depth", "commands": 120, "build_s": 1.5,
               "elapsed_s": 2.25, "per_depth_s": [0.1, 0.2]},
    "properties": [{"id": "a", "kind": "invariant", "statement": "A",
                    "verdict": "inconclusive", "reason": "t"}],
    "exit_code": 4,
}  # fmt: skip


def test_the_smt_and_both_engines_documents():
    _same(_smt().to_json(), SMT)
    lemmas = _smt(lemmas=Lemmas(["x"], "", 3.0)).to_json()
    _same(lemmas, {**SMT, "lemmas": {"proved": ["x"], "unknown": "", "elapsed_s": 3.0}})
    both = EnginesSummary(_explicit(), _smt(), ["a: differs"]).to_json()
    assert list(both) == ["explicit", "smt", "disagree"] and both["disagree"] == ["a: differs"]
    _same(both["smt"], SMT)


def test_the_proof_document():
    invariants = [
        InvariantResult("a", True, Verdict.PROVED, k=1),
        InvariantResult("b", True, Verdict.FAIL, reason="fails at depth 0"),
        InvariantResult("c", False, Verdict.NOT_PROVED, broken=["c"], trace="cti.json"),
        InvariantResult("d", False, Verdict.NOT_PROVED, broken=["d"], states=["00ff"]),
        InvariantResult("e", False, Verdict.UNKNOWN, reason="not reached"),
    ]
    doc = ProofSummary("0.1.0", {"cores": 1}, "abc", 1, 2, 3.5, [1.0, 2.5], invariants, 1)
    _same(
        doc.to_json(),
        {
            "schema": "gmpcheck.proof/1", "version": "0.1.0", "model": {"cores": 1},
            "model_hash": "abc", "k": 1, "rounds": 2, "elapsed_s": 3.5, "per_round_s": [1.0, 2.5],
            "invariants": [
                {"id": "a", "target": True, "verdict": "proved", "k": 1},
                {"id": "b", "target": True, "verdict": "fail", "reason": "fails at depth 0"},
                {"id": "c", "target": False, "verdict": "not-proved", "broken": ["c"],
                 "trace": "cti.json"},
                {"id": "d", "target": False, "verdict": "not-proved", "broken": ["d"],
                 "trace": None, "states": ["00ff"]},
                {"id": "e", "target": False, "verdict": "unknown", "reason": "not reached"},
            ],
            "exit_code": 1,
        },
    )  # fmt: skip


def test_the_gate_document():
    cell = GateCell(
        "safety/x", "safety", {"cores": 2, "depth": 12}, {"*": Verdict.PASS},
        {"a": Verdict.PASS, "b": Verdict.NA}, {"states": 5, "transitions": 7}, True, "", None,
    )  # fmt: skip
    cell_doc = {
        "id": "safety/x", "kind": "safety", "config": {"cores": 2, "depth": 12},
        "expect": {"*": "pass"}, "verdicts": {"a": "pass", "b": "n/a"},
        "counts": {"states": 5, "transitions": 7}, "ok": True, "problem": "", "trace": None,
    }  # fmt: skip
    head = {"schema": "gmpcheck.gate/1", "cells": [cell_doc], "manifest_diff": ["d"]}
    whole = GateSummary([cell], ["d"], 6, coverage={"go1.25": []}, coverage_gaps=[])
    coverage = {"coverage": {"go1.25": []}, "coverage_gaps": []}
    _same(whole.to_json(), {**head, "exit_code": 6, **coverage})
    stopped = GateSummary([cell], ["d"], 4, stopped="interrupted")
    _same(stopped.to_json(), {**head, "exit_code": 4, "stopped": "interrupted"})


def test_the_conform_document():
    def summary(**more: Any) -> ConformSummary:
        return ConformSummary(
            schema="gmpcheck.conform/1", source="x.go", profile="go1.26",
            verdict=Verdict.FAILS, events=10, checked_events=4, state_transitions=9,
            elapsed_s=0.25, events_per_s=16, procs=2, threads=3, goroutine_slots=4,
            program_gs=[1, 4], runtime_gs=[2], peak_frontier=5, peak_closure=6, expansions=7,
            reason=None, program_end=False, exit_code=1, **more,
        )  # fmt: skip

    body = {
        "schema": "gmpcheck.conform/1", "source": "x.go", "profile": "go1.26",
        "verdict": "fails", "events": 10, "checked_events": 4, "state_transitions": 9,
        "elapsed_s": 0.25, "events_per_s": 16,
        "model": {"procs": 2, "threads": 3, "goroutine_slots": 4},
        "goroutines": {"program": [1, 4], "runtime": [2]},
        "search": {"peak_frontier": 5, "peak_closure": 6, "expansions": 7},
        "reason": None, "program_end": False,
    }  # fmt: skip
    _same(summary().to_json(), {**body, "exit_code": 1})
    failure = ConformFailure(4, 12, "M=1 ...", 3, "G1 running", ["s1"])
    run = ProgramRun("go1.26.0", None, "", "reports/conform-x.trace")
    _same(
        summary(run=run, failure=failure).to_json(),
        {
            **body, "go_version": "go1.26.0", "gomaxprocs": None, "godebug": "",
            "trace": "reports/conform-x.trace",
            "failure": {"event_index": 4, "line": 12, "event": "M=1 ...", "states_before": 3,
                        "observed_before": "G1 running", "examples": ["s1"]},
            "exit_code": 1,
        },
    )  # fmt: skip
    no_trace = summary(run=ProgramRun("go1.26.0", 2, "x=1")).to_json()
    assert list(no_trace)[-4:] == ["go_version", "gomaxprocs", "godebug", "exit_code"]


def test_the_replay_document():
    doc = ReplaySummary(
        "t.json", "m", None, 9, 9, 0, False, 11, ["M0", "sysmon"], 0.125, None, "no-lost-g",
        "fail", 0,
    ).to_json()  # fmt: skip
    _same(
        doc,
        {
            "schema": "gmpcheck.replay/1", "trace": "t.json", "runtime_mutation": "m",
            "plugin": None, "steps": 9, "replayed": 9, "cycles": 0, "stutters": False,
            "fine_steps": 11, "threads": ["M0", "sysmon"], "elapsed_s": 0.125,
            "divergence": None, "property": "no-lost-g", "reproduced": "fail", "notes": [],
            "exit_code": 0,
        },
    )  # fmt: skip


# ---- the writer ----------------------------------------------------------------------


def test_the_writer_prints_and_writes_the_same_text(tmp_path: Path, capsys):
    s = _smt()
    assert json_text(s) == json.dumps(SMT, indent=2) + "\n"
    assert json_text(s, indent=1) == json.dumps(SMT, indent=1) + "\n"
    assert json_text({"a": [1, 2]}, compact=True) == '{"a":[1,2]}\n'
    print_json(s)
    assert capsys.readouterr().out == json_text(s)
    write_json(tmp_path / "s.json", s, indent=1)
    assert (tmp_path / "s.json").read_text() == json_text(s, indent=1)


# Calls of json.dump/json.dumps in checker/ outside the writer: none of them
# makes a document a command prints or writes as its output. A new one fails
# the test: write it with checker/results (json_text, print_json, write_json),
# or, if it is no output, list it here with its reason.
NOT_OUTPUTS = {
    "checker/engine/checkpoint.py": (3, "the run's identity and meta (sorted keys, internal)"),
    "checker/engine/graph.py": (1, "the model's configuration as a graph attribute"),
    "checker/kernel/build.py": (2, "the kernel cache's key and its build notes"),
    "checker/views/html.py": (1, "the page's data inside a <script> element, escaped"),
    "checker/bench/search.py": (2, "the arguments of a benchmark's child process"),
    "checker/bench/hostile_inputs.py": (3, "the probe's broken inputs"),
}
WRITER = "checker/results/write.py"


def _json_dumps_calls(root: Path = ROOT) -> dict[str, int]:
    """module -> calls of json.dump or json.dumps (also imported by name, or
    json imported under another name), the writer excepted."""
    found: dict[str, int] = {}
    for path in sorted((root / "checker").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == WRITER:
            continue
        tree = ast.parse(path.read_text())
        modules, names = {"json"}, set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name == "json"}
            elif isinstance(node, ast.ImportFrom) and node.module == "json":
                names |= {a.asname or a.name for a in node.names if a.name in ("dump", "dumps")}
        n = 0
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in ("dump", "dumps"):
                n += isinstance(f.value, ast.Name) and f.value.id in modules
            elif isinstance(f, ast.Name):
                n += f.id in names
        if n:
            found[rel] = n
    return found


def test_every_json_output_goes_through_the_one_writer():
    found = _json_dumps_calls()
    assert {m: n for m, n in found.items() if m not in NOT_OUTPUTS} == {}
    assert found == {m: n for m, (n, _why) in NOT_OUTPUTS.items()}


def test_the_scan_finds_a_json_dump(tmp_path: Path):
    (tmp_path / "checker").mkdir()
    (tmp_path / "checker" / "x.py").write_text(
        "import json\nimport json as j\nfrom json import dumps as d\n"
        "print(json.dumps({}))\nj.dump({}, f)\nd([])\ns = 'json.dumps(x)'\n"
    )
    assert _json_dumps_calls(tmp_path) == {"checker/x.py": 3}


# ---- what the commands print -----------------------------------------------------------


def _shape(doc: Any, path: str = "", out: dict | None = None) -> dict[str, set[str]]:
    """path -> the key lists, in order, of the objects there (list items
    share their list's path, with "[]")."""
    out = {} if out is None else out
    if isinstance(doc, dict):
        out.setdefault(path or ".", set()).add(" ".join(doc))
        for k, v in doc.items():
            _shape(v, f"{path}.{k}" if path else k, out)
    elif isinstance(doc, list):
        for v in doc:
            _shape(v, path + "[]", out)
    return out


MODEL = {"cores max_ms ring period steal_tries async_preempt workload mutation profile steps"}
SEARCH = {"depth symmetry workers strict kernel kernel_note"}
RESULT_KEYS = (
    "states transitions depth_reached stopped liveness_stopped stop_reason complete "
    "truncated_states bounds_hit elapsed_s states_per_s memory total_s"
)
LIVENESS_GRAPH = {"states edges expanded symmetry elapsed_s analysis_s"}
SUMMARY_KEYS = "schema version engine model model_hash search result properties exit_code"
ENTRY = "id kind statement verdict"
BUG = ("--cores", "1", "--workload", "syscall-heavy", "--mutation", "exitsyscall-drops-g",
       "--depth", "11", "--quiet", "--json")  # fmt: skip


def test_check_prints_its_summary_and_replay_its_result(tmp_path: Path):
    code, out, err = run_cli(
        *BUG, "--property", "no-lost-g,progress", "--coverage", "--checkpoint",
        str(tmp_path / "cp"), "--graph", str(tmp_path / "g.dot"), "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 1, err
    assert _shape(json.loads(out)) == {
        ".": {SUMMARY_KEYS + " checkpoint graph coverage"},
        "model": MODEL,
        "search": SEARCH,
        "result": {RESULT_KEYS + " liveness_graph"},
        "result.bounds_hit": {""},
        "result.memory": {"peak_rss_mb"},
        "result.liveness_graph": LIVENESS_GRAPH,
        "properties[]": {
            ENTRY,  # not checked
            f"{ENTRY} depth message trace",  # a safety failure
            f"{ENTRY} fairness reason",  # liveness the depth bound leaves open
        },
        "checkpoint": {"directory resumed saved"},
        "checkpoint.resumed": {""},
        "checkpoint.saved": {"safety liveness"},
        "checkpoint.saved.safety": {"depth states complete elapsed_s"},
        "checkpoint.saved.liveness": {"depth states complete elapsed_s"},
        "graph": {"file nodes edges"},
        "coverage[]": {"actor pc method where plugin states"},
    }
    (trace,) = tmp_path.glob("no-lost-g-*.itf.json")
    code, out, err = run_cli("replay", str(trace), "--json")
    assert code == 0, err
    assert _shape(json.loads(out)) == {
        ".": {
            "schema trace runtime_mutation plugin steps replayed cycles stutters fine_steps "
            "threads elapsed_s divergence property reproduced notes exit_code"
        }
    }


def test_a_stopped_check_prints_what_it_established(tmp_path: Path):
    code, out, err = run_cli(
        "--cores", "2", "--depth", "0", "--max-states", "50", "--quiet", "--json",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 4, err
    shape = _shape(json.loads(out))
    assert shape["."] == {SUMMARY_KEYS} and shape["result"] == {RESULT_KEYS + " liveness_graph"}
    assert shape["properties[]"] == {
        f"{ENTRY} checked_states complete_depth reason",
        f"{ENTRY} fairness reason",
    }


def test_both_engines_print_their_summaries_side_by_side(tmp_path: Path):
    code, out, err = run_cli(
        *BUG, "--engine", "both", "--property", "no-lost-g,p-ownership", "--out", str(tmp_path)
    )
    assert code == 1, err
    entries = {ENTRY, f"{ENTRY} bounded", f"{ENTRY} depth message trace"}
    assert _shape(json.loads(out)) == {
        ".": {"explicit smt disagree"},
        "explicit": {SUMMARY_KEYS},
        "explicit.model": MODEL,
        "explicit.search": SEARCH,
        "explicit.result": {RESULT_KEYS},
        "explicit.result.bounds_hit": {""},
        "explicit.result.memory": {"peak_rss_mb"},
        "explicit.properties[]": entries,
        "smt": {SUMMARY_KEYS},
        "smt.model": MODEL,
        "smt.search": {"depth solver_timeout_s"},
        "smt.result": {"depth_reached stopped commands build_s elapsed_s per_depth_s"},
        "smt.properties[]": entries,
    }


def test_conform_prints_its_result():
    trace = ROOT / "tests" / "conform" / "traces" / "spawn-p2.parsed.txt"
    code, out, err = run_cli("conform", "--trace", str(trace), "--json", "--max-states", "1")
    assert code == 4, err
    assert _shape(json.loads(out)) == {
        ".": {
            "schema source profile verdict events checked_events state_transitions elapsed_s "
            "events_per_s model goroutines search reason program_end failure exit_code"
        },
        "model": {"procs threads goroutine_slots"},
        "goroutines": {"program runtime"},
        "search": {"peak_frontier peak_closure expansions"},
        "failure": {"event_index line event states_before observed_before examples"},
    }


def test_the_gate_prints_its_cells():
    cell = "safety/mixed/c2/d12"
    code, out, err = run_cli("gate", "--json", "--quiet", "--cell", cell, timeout=600)
    assert code == 0, err
    shape = _shape(json.loads(out))
    assert shape["."] == {"schema cells manifest_diff exit_code coverage_gaps"}
    assert shape["cells[]"] == {"id kind config expect verdicts counts ok problem trace"}
    assert shape["cells[].counts"] == {"states transitions"}
