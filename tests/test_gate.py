"""The CI gate: its verdicts, its manifest, its exit codes and its CI outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.gate.cell_run import run_cell
from checker.gate.cells import MANIFEST, MANIFEST_SCHEMA, Cell, matrix
from checker.gate.manifest import junit_xml, sarif
from checker.smt.induction import TARGETS
from checker.views.itf import read_trace
from checker.views.report import (
    EXIT_INCONCLUSIVE,
    EXIT_LIVENESS,
    EXIT_MANIFEST,
    EXIT_OK,
    EXIT_SAFETY,
    EXIT_USAGE,
)
from model.mutations import MUTATIONS
from tests.conftest import ROOT, run_cli

QUICK_SAFETY = "safety/mixed/c2/d12"


def _gate_json(*args: str, env: dict | None = None) -> tuple[int, dict]:
    code, out, err = run_cli("gate", "--json", "--quiet", *args, env=env, timeout=600)
    assert out, err
    return code, json.loads(out)


def test_the_matrix_covers_every_mutation_and_go_at_every_core_count():
    ids = {c.id for c in matrix()}
    for m in MUTATIONS.values():
        assert f"{'benign' if m.benign else 'mutation'}/{m.name}" in ids
        if m.also_violates:
            assert f"mutation/{m.name}/{'+'.join(m.also_violates)}" in ids
    for cores in (2, 3, 4):
        assert f"safety/mixed/c{cores}/d12" in ids
    assert any(c.kind == "liveness" for c in matrix())
    smt = {c.id for c in matrix() if c.kind == "smt"}
    assert any(i.startswith("smt/safety/") for i in smt)
    assert len([i for i in smt if i.startswith("smt/mutation/")]) >= 5
    assert len(ids) == len(matrix()), "cell ids are unique"


def test_the_committed_manifest_counts_every_counted_cell():
    doc = json.loads(MANIFEST.read_text())
    assert doc["schema"] == MANIFEST_SCHEMA
    counted = {c.id for c in matrix() if c.counted}
    assert counted == set(doc["cells"])


def test_quick_gate_is_the_same_whatever_workers_and_hash_seed():
    runs = [
        _gate_json("--quick", "--workers", w, env={"PYTHONHASHSEED": seed})
        for w, seed in (("1", "0"), ("2", "4242"))
    ]
    (code, first), (code2, second) = runs
    assert code == EXIT_OK, first
    assert code2 == code
    assert first == second
    assert first["cells"] and all(c["ok"] for c in first["cells"])
    kinds = {c["kind"] for c in first["cells"]}
    assert {"safety", "liveness", "finding", "mutation"} <= kinds


def test_a_changed_count_fails_the_gate_with_a_diff(tmp_path: Path):
    doc = json.loads(MANIFEST.read_text())
    states = doc["cells"][QUICK_SAFETY]["states"]
    doc["cells"][QUICK_SAFETY]["states"] = states + 1
    edited = tmp_path / "manifest.json"
    edited.write_text(json.dumps(doc))
    code, out, _ = run_cli("gate", "--cell", QUICK_SAFETY, "--manifest", str(edited), "--quiet")
    assert code == EXIT_MANIFEST
    assert f"{QUICK_SAFETY}: states {states + 1:} -> {states}" in out
    assert "--update-manifest" in out
    # The same cell against the committed manifest passes: the diff was the edit.
    code, out, _ = run_cli("gate", "--cell", QUICK_SAFETY, "--quiet")
    assert code == EXIT_OK, out


def test_update_manifest_records_counts_that_then_pass(tmp_path: Path):
    path = tmp_path / "m.json"
    code, _, err = run_cli(
        "gate", "--cell", QUICK_SAFETY, "--manifest", str(path), "--update-manifest", "--quiet"
    )
    assert code == EXIT_OK, err
    written = json.loads(path.read_text())["cells"]
    assert written[QUICK_SAFETY] == json.loads(MANIFEST.read_text())["cells"][QUICK_SAFETY]
    code, _, _ = run_cli("gate", "--cell", QUICK_SAFETY, "--manifest", str(path), "--quiet")
    assert code == EXIT_OK


@pytest.mark.parametrize(
    "content, why",
    [
        (None, "no manifest"),
        ("{not json", "not a readable manifest"),
        (json.dumps({"schema": "other/1", "cells": {}}), "not a gate manifest"),
        (json.dumps({"schema": MANIFEST_SCHEMA}), "'cells' is a required property"),
        # Hostile manifests: refused before any cell runs.
        (b"\x00\xff\xfe binary", "not a text file"),
        ("[" * 5000 + "]" * 5000, "nested"),
        (json.dumps({"schema": MANIFEST_SCHEMA, "cells": {"a": 3}}), "cells.a: 3 is not of type"),
        (json.dumps({"schema": MANIFEST_SCHEMA, "cells": {"a": [1]}}), "is not of type 'object'"),
        (
            json.dumps({"schema": MANIFEST_SCHEMA, "cells": {"a": {"states": 1.5}}}),
            "is not of type 'integer'",
        ),
        (
            '{"schema": "' + MANIFEST_SCHEMA + '", "cells": {"a": {"s": ' + "9" * 5000 + "}}}",
            "not valid JSON",
        ),
    ],
)
def test_a_bad_manifest_is_one_line_and_exit_2(tmp_path: Path, content, why):
    path = tmp_path / "m.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run_cli("gate", "--cell", QUICK_SAFETY, "--manifest", str(path))
    assert code == EXIT_USAGE
    assert why in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not out


def test_an_unknown_cell_is_a_usage_error():
    code, _, err = run_cli("gate", "--cell", "no/such/cell")
    assert code == EXIT_USAGE and "no gate cell matches" in err
    # One known prefix does not hide a typo beside it.
    code, out, err = run_cli("gate", "--cell", QUICK_SAFETY, "--cell", "safty/typo")
    assert code == EXIT_USAGE and "'safty/typo'" in err and out == ""


def test_update_manifest_refuses_an_unreadable_old_manifest(tmp_path: Path):
    path = tmp_path / "m.json"
    path.write_text("{broken")
    code, _, err = run_cli(
        "gate", "--cell", QUICK_SAFETY, "--manifest", str(path), "--update-manifest"
    )
    assert code == EXIT_USAGE and "not a readable manifest" in err
    assert path.read_text() == "{broken"  # not silently replaced


# ---- a wrong verdict, as CI sees it --------------------------------------------------


@pytest.fixture(scope="module")
def wrong_results(tmp_path_factory):
    """Two cells whose expectations the model does not meet: a safety bug
    expected to pass, and a correct liveness configuration expected to fail."""
    bug = MUTATIONS["no-needspinning"]
    safety = Cell(
        "test/expects-pass",
        "safety",
        {"mutation": bug.name, **bug.check_at},
        {"*": "pass"},
        props=tuple(bug.violates),
    )
    live = Cell(
        "test/expects-starvation",
        "liveness",
        {"cores": 2, "workload": "tight-loop", "depth": 0, "steps": "macro", "period": 2},
        {"no-starvation": "fail"},
        props=("no-starvation",),
    )
    ok = Cell(
        "test/expected",
        "mutation",
        {"mutation": bug.name, **bug.check_at},
        {p: "fail" for p in bug.violates},
        props=tuple(bug.violates),
    )
    out = tmp_path_factory.mktemp("gate")
    return [run_cell(c, out_dir=out) for c in (safety, live, ok)]


def test_wrong_verdicts_have_their_exit_codes(wrong_results):
    safety, live, ok = wrong_results
    assert not safety.ok and safety.exit_code == EXIT_SAFETY
    assert safety.failed_property in MUTATIONS["no-needspinning"].violates
    assert safety.excerpt, "the counterexample's last steps are kept"
    doc = read_trace(safety.trace)  # the wrong cell's counterexample, as a trace file
    assert doc["#meta"]["gmpcheck"]["property"] == safety.failed_property
    assert not ok.trace, "a cell that is right writes nothing"
    assert not live.ok and live.exit_code == EXIT_LIVENESS
    assert live.verdicts["no-starvation"] == "pass"
    assert ok.ok, ok.problem


def test_junit_has_a_case_per_cell_and_a_failure_per_wrong_one(wrong_results):
    root = ET.fromstring(junit_xml(wrong_results))
    assert root.get("tests") == "3" and root.get("failures") == "2"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"test/expects-pass", "test/expects-starvation", "test/expected"}
    failure = cases["test/expects-pass"].find("failure")
    assert failure is not None and "expected pass" in failure.get("message")
    assert wrong_results[0].trace in failure.text
    assert f"{wrong_results[0].failed_property} violated" in failure.text
    assert cases["test/expected"].find("failure") is None


def test_sarif_points_at_the_model_step_of_the_violation(wrong_results):
    doc = json.loads(sarif(wrong_results))
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [wrong_results[0].failed_property]
    loc = results[0]["locations"][0]["physicalLocation"]
    path = ROOT / loc["artifactLocation"]["uri"]
    assert path.parent.name == "model" and path.exists()
    line = path.read_text().splitlines()[loc["region"]["startLine"] - 1]
    assert line.lstrip().startswith(("def ", "@")), line
    rules = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert wrong_results[0].failed_property in rules


def test_gate_writes_junit_and_sarif_files(tmp_path: Path):
    junit, sar = tmp_path / "gate.xml", tmp_path / "gate.sarif"
    code, _, err = run_cli(
        "gate", "--cell", QUICK_SAFETY, "--junit", str(junit), "--sarif", str(sar), "--quiet"
    )
    assert code == EXIT_OK, err
    assert ET.fromstring(junit.read_text()).get("failures") == "0"
    assert json.loads(sar.read_text())["runs"][0]["results"] == []


def test_a_proof_cell_passes_only_when_the_targets_are_proved():
    """The gate's proof cell on a model whose step loses a G: no-lost-g is
    not proved (exit 4, with what broke it); the same cell on Go's scheduler
    is right."""
    cfg = {"cores": 1, "workload": "syscall-heavy"}
    go = run_cell(Cell("test/proof", "proof", cfg, dict.fromkeys(TARGETS, "proved"), TARGETS))
    assert go.ok, go.problem
    broken = Cell(
        "test/proof-broken",
        "proof",
        {**cfg, "mutation": "exitsyscall-drops-g"},
        dict.fromkeys(TARGETS, "proved"),
        TARGETS,
    )
    res = run_cell(broken)
    assert not res.ok and res.exit_code == EXIT_INCONCLUSIVE
    assert res.verdicts["no-lost-g"] == "not-proved"
    assert "counterexample to induction breaks" in res.problem and "no-lost-g" in res.problem
