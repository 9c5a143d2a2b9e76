"""Coverage: which steps a run took, the steps never taken, and the gate's
check that its matrix reaches every step of Go's scheduler."""

from __future__ import annotations

import json
from argparse import Namespace

import pytest
from conftest import run_cli

from checker.engine import coverage
from checker.engine.explore import explore
from checker.gate import gate
from model.config import Config
from model.factory import build_model

MACRO = {"steps": "macro", "period": 2}


def folded(depth: int, workers: int = 1, **cfg) -> dict[tuple[str, str], int]:
    model = build_model(Config(**cfg))
    ex = explore(model, [], depth=depth, workers=workers)
    return coverage.by_kind(model, ex.coverage)


def test_the_catalogue_names_every_step_with_its_method_and_source():
    model = build_model(Config(cores=2))
    steps = {s.name: s for s in coverage.step_catalogue(model)}
    assert steps["M RUNQPUTSLOW_GLOBAL"].method == "Goroutines.runqputslow_global"
    assert steps["M RUNQPUTSLOW_GLOBAL"].where.startswith("model/goroutine.py:")
    # sysmon runs handoffp and startm too, and its own loop; Ms never run that loop
    assert {"sysmon HANDOFFP", "sysmon STARTM", "sysmon SYSMON", "M HANDOFFP"} <= set(steps)
    assert "M SYSMON" not in steps
    # a mutation's override is the step that runs
    mutated = build_model(Config(cores=2, mutation="exitsyscall-drops-g"))
    step = next(s for s in coverage.step_catalogue(mutated) if s.pc_name == "EXITSYSCALL0")
    assert step.method == "ExitsyscallDropsG.exitsyscall0"
    go126 = {s.name for s in coverage.step_catalogue(build_model(Config(profile="go1.26")))}
    assert {"M EXITSYSCALL_OLDP", "M ENTERSYSCALLBLOCK_CAS"} <= go126 - set(steps)


def test_spawn_overflow_reaches_runqputslow_and_a_ring_of_4_the_global_batch():
    ring2 = folded(0, cores=1, workload="spawn-overflow", **MACRO)
    assert ring2.get(("M", "RUNQPUTSLOW_GLOBAL"), 0) > 0
    assert ring2.get(("M", "RUNQPUTBATCH"), 0) == 0  # a batch of ring/2 = 1 is one G
    ring4 = folded(0, cores=1, workload="spawn-overflow", ring=4, **MACRO)
    assert ring4.get(("M", "RUNQPUTSLOW_GLOBAL"), 0) > 0
    assert ring4.get(("M", "RUNQPUTBATCH"), 0) > 0
    # three spawns fit in runnext and a ring of 2: spawn-burst never overflows it
    burst = folded(0, cores=1, workload="spawn-burst", **MACRO)
    assert burst.get(("M", "RUNQPUTSLOW_GLOBAL"), 0) == 0


def test_coverage_does_not_depend_on_the_worker_count():
    one = folded(9, workers=1, cores=2, workload="mixed")
    two = folded(9, workers=2, cores=2, workload="mixed")
    assert one == two and one


def test_check_coverage_prints_the_table_and_the_steps_never_taken(tmp_path):
    args = ["--cores", "1", "--workload", "syscall-heavy", "--depth", "8", "--quiet"]
    code, out, err = run_cli(*args, "--coverage", "--property", "no-lost-g", cwd=tmp_path)
    assert code == 0, err
    assert "coverage: " in out and " steps taken" in out
    line = next(x for x in out.splitlines() if x.strip().startswith("M IN_SYSCALL"))
    assert "Syscalls.exitsyscall" in line and "model/syscall.py:" in line
    never = next(x for x in out.splitlines() if "never taken" in x)
    assert "M FR_STEAL" in never  # one core: nobody to steal from
    code, out, _ = run_cli(*args, "--coverage", "--json", "--property", "no-lost-g", cwd=tmp_path)
    rows = {(r["actor"], r["pc"]): r for r in json.loads(out)["coverage"]}
    assert rows["M", "IN_SYSCALL"]["states"] > 0 and rows["M", "FR_STEAL"]["states"] == 0
    code, out, _ = run_cli(*args, "--property", "no-lost-g", cwd=tmp_path)
    assert "never taken" not in out  # only when asked for


def _gate(*cells: str) -> tuple[int, dict]:
    flags = [x for c in cells for x in ("--cell", c)]
    code, out, err = run_cli("gate", "--coverage", "--json", "--quiet", *flags, timeout=600)
    assert out, err
    return code, json.loads(out)


def test_the_gate_fails_with_the_steps_a_missing_workload_reached():
    """Without the spawn-overflow workload's cell the ring overflow and the
    global batch are reached by no cell: the gate says which, and fails."""
    code, doc = _gate("liveness/mixed/c1", "liveness/spawn-overflow/c1/ring4")
    gaps = doc["coverage_gaps"]
    assert not {"go1.25: M RUNQPUTSLOW_GLOBAL", "go1.25: M RUNQPUTBATCH"} & set(gaps)
    code2, doc2 = _gate("liveness/mixed/c1")
    assert code2 == 4 and code == 4  # neither part of the matrix reaches everything
    lost = set(doc2["coverage_gaps"]) - set(gaps)
    assert lost == {"go1.25: M RUNQPUTSLOW_GLOBAL", "go1.25: M RUNQPUTBATCH"}
    rows = {(r["actor"], r["pc"]): r for r in doc["coverage"]["go1.25"]}
    assert rows["M", "RUNQPUTBATCH"]["cells"] == 1 and rows["M", "RUNQPUTBATCH"]["states"] > 0


def _all_steps(profile: str) -> dict[tuple[str, str], int]:
    model = build_model(Config(cores=2, profile=profile))
    return {s.key: 1 for s in coverage.step_catalogue(model)}


@pytest.fixture
def fake_gate(monkeypatch, capsys):
    """The whole matrix's verdicts and counts as the manifest has them, and
    the coverage `cover(cell)` says: the gate's judgement without the runs."""
    manifest = gate.load_manifest(gate.MANIFEST)

    def run(cover) -> tuple[int, str]:
        def fake(cells, workers, quiet, out_dir=None):
            results = []
            for c in cells:
                r = gate.CellResult(c, counts=dict(manifest.get(c.id, {})))
                r.verdicts = {p: v for p, v in c.expect.items() if p != "*"}
                if c.kind in ("safety", "liveness", "finding") and "mutation" not in c.config:
                    r.profile = c.config.get("profile", "go1.25")
                    r.coverage = cover(c)
                results.append(r)
            return results

        monkeypatch.setattr(gate, "_run_all", fake)
        args = Namespace(
            quick=False, full=False, cell=[], manifest=str(gate.MANIFEST), update_manifest=False,
            workers=1, quiet=True, out="reports/gate", json=False, junit="", sarif="",
            coverage=False,
        )  # fmt: skip
        code = gate.cmd_gate(args)
        return code, capsys.readouterr().out

    return run


def test_the_whole_matrix_is_held_to_every_step(fake_gate):
    full = {p: _all_steps(p) for p in gate.COVERAGE_PROFILES}
    code, out = fake_gate(lambda c: full[c.config.get("profile", "go1.25")])
    assert code == 0, out
    assert "every step of Go's scheduler reached" in out

    def without_overflow(c):
        if c.config.get("workload") == "spawn-overflow":
            return {}
        cover = dict(full[c.config.get("profile", "go1.25")])
        cover.pop(("M", "RUNQPUTBATCH"))
        return cover

    code, out = fake_gate(without_overflow)
    assert code == 4
    assert "steps of Go's scheduler reached by no cell" in out
    assert "go1.25: M RUNQPUTBATCH" in out and "go1.26: M RUNQPUTBATCH" in out


def test_a_step_declared_unreachable_is_not_asked_for(monkeypatch):
    model = build_model(Config(cores=2))
    monkeypatch.setattr(
        type(model), "unreachable_steps", {("M", "RUNQPUTBATCH"): "only a mutation goes there"}
    )
    table = coverage.rows(model, {})
    assert "M RUNQPUTBATCH" not in {r.step.name for r in coverage.missing(table)}
    text = "\n".join(coverage.render(table))
    assert "unreachable by design: M RUNQPUTBATCH: only a mutation goes there" in text


def test_hitting_the_thread_bound_is_reported_not_silently_cut(tmp_path):
    args = ["--cores", "1", "--workload", "syscall-heavy", "--max-ms", "1", "--depth", "10"]
    code, out, err = run_cli(*args, "--property", "no-lost-g", "--quiet", cwd=tmp_path)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("bounds"))
    assert "the thread bound (--max-ms 1) at startm" in line
    code, out, _ = run_cli(*args, "--property", "no-lost-g", "--quiet", "--json", cwd=tmp_path)
    result = json.loads(out)["result"]
    assert result["truncated_states"] > 0 and result["bounds_hit"]["threads"] > 0
    # with the threads the workload can use, nothing is cut
    code, out, _ = run_cli(*args[:4], "--depth", "10", "--quiet", "--json", cwd=tmp_path)
    assert json.loads(out)["result"]["bounds_hit"] == {}
