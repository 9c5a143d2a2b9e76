"""`bench` fails (exit 1) when a conformance run of the shipped corpus gives
a wrong verdict, and keeps that run's trace under --out for `conform --trace`."""

from __future__ import annotations

import argparse

import pytest

import checker.bench.corpus as corpus
import checker.bench.search as bench
from checker.golang.gotool import GoToolError, find_toolchain


def _no_go() -> str:
    try:
        find_toolchain()
    except GoToolError as e:
        return str(e)
    return ""


@pytest.mark.skipif(bool(_no_go()), reason=_no_go() or "go")
def test_a_wrong_conformance_verdict_fails_the_bench_and_keeps_the_trace(
    monkeypatch, tmp_path, capsys
):
    real = corpus.check_events

    def rejecting(events, source, max_states, progress=None):
        res, search = real(events, source, max_states, progress)
        res.verdict = "fails"  # as if the model could not explain the run
        return res, search

    monkeypatch.setattr(corpus, "BENCH_RUNS", (("spawn", 1),))
    monkeypatch.setattr(corpus, "check_events", rejecting)
    monkeypatch.setattr(bench, "measure", lambda *a, **k: _row())
    monkeypatch.setattr(bench, "measure_liveness", lambda *a, **k: _live())
    args = argparse.Namespace(
        against=None, workers="1", runs=1, cores=1, depth=1, liveness_config=None,
        smt="", out=str(tmp_path), kernels="compiled", exhaustive=False,
    )  # fmt: skip
    code = bench.cmd_bench(args)
    err = capsys.readouterr().err
    assert code == 1, err
    assert "WRONG VERDICT: spawn.go at GOMAXPROCS=1 fails" in err
    kept = tmp_path / "bench-conform-failures"
    assert (kept / "conform-spawn-p1.trace").stat().st_size > 0
    assert (kept / "conform-spawn-p1.parsed.txt").read_text().startswith("# go 1.")
    assert (tmp_path / "bench.json").exists()


def _row() -> dict:
    return {
        "cores": 1, "depth": 1, "workers": 1, "symmetry": True, "runs": 1, "states": 1,
        "transitions": 1, "wall_s_median": 0.1, "wall_s_all": [0.1], "states_per_s": 10,
        "states_per_s_per_worker": 10, "peak_rss_mib": 1.0, "bytes_per_state": 1,
        "kernel": "compiled", "cpu_s_median": 0.1, "states_per_cpu_s": 10,
        "visited_bytes_per_state": 30.0,
    }  # fmt: skip


def _live() -> dict:
    return {
        "runs": 1, "graph_states": 1, "graph_edges": 1, "wall_s": 0.1, "wall_s_all": [0.1],
        "safety_wall_s": 0.1, "liveness_adds_s": 0.0, "analysis_s": 0.0, "peak_rss_mib": 1,
        "safety_peak_rss_mib": 1, "liveness_adds_mib": 0, "bytes_per_graph_state": 1,
        "kernel": "compiled", "stored_bytes_per_graph_state": 100.0,
    }  # fmt: skip
