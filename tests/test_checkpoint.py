"""--checkpoint / --resume: a search stopped at any point and resumed gives
what the uninterrupted search gives, on both kernels and any worker count;
a checkpoint directory that does not fit the run is refused (exit 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, run_cli

from checker.engine.checkpoint import CheckpointError, Checkpoints, run_identity
from checker.run import run_check
from model.config import Config
from model.factory import build_model
from specs import properties_of

KERNELS = ["python", "compiled"]
CASES = {
    # bounded, with the liveness search after the safety search
    "mixed-depth9": ({"cores": 2, "workload": "mixed"}, 9),
    # unbounded, macro steps, a mutation: a counterexample found mid-run
    "spawn-burst-mutation": (
        {
            "cores": 2,
            "workload": "spawn-burst",
            "steps": "macro",
            "period": 2,
            "mutation": "wakep-leaks-nmspinning",
        },
        0,
    ),  # fmt: skip
}


def _model(cfg: dict):
    model = build_model(Config(**cfg), symmetry=True)
    return model, [p for p in properties_of(model) if p.default]


def _figures(run) -> dict:
    """Everything of a run the verdicts and reports are made from."""
    ex = run.ex
    out = {
        "states": len(ex.states),
        "transitions": ex.transitions,
        "expanded": ex.expanded,
        "truncated": ex.truncated_states,
        "deadlocks": ex.deadlocks,
        "stopped": ex.stopped,
        "levels": list(ex.level_start),
        "parents": [int(x) for x in ex.parent],
        "coverage": sorted(ex.coverage.items()),
        "cuts": sorted(ex.cuts.items()),
        "violations": {k: (v.state, v.depth, v.message) for k, v in ex.violations.items()},
    }
    if run.live_ex is not None and run.live_ex is not ex:
        lx = run.live_ex
        out["graph"] = (
            len(lx.states),
            [int(x) for x in lx.edge_src],
            [int(x) for x in lx.edge_dst],
            [int(x) for x in lx.edge_groups],
            [int(x) for x in lx.atoms],
            [int(x) for x in lx.enabled],
            bytes(lx.is_expanded),
            bytes(lx.is_final),
        )
    out["liveness"] = {k: (str(v.verdict), v.message) for k, v in run.liveness.items()}
    return out


def _stop_at(call: int):
    """A progress callback that stops the run (as Ctrl-C does) at its n-th
    call: progress is told after every chunk, so mostly in mid-level."""
    seen = [0]

    def progress(_p) -> None:
        seen[0] += 1
        if seen[0] == call:
            raise KeyboardInterrupt

    return progress


def _interrupted_then_resumed(cfg, depth, kernel, call, directory, workers=(1, 1)):
    model, props = _model(cfg)
    ident = run_identity(model, props, depth=depth)
    first = Checkpoints(directory, ident, every_s=0)
    first.open()
    stopped = run_check(
        model, props, depth=depth, kernel=kernel, workers=workers[0],
        progress=_stop_at(call), checkpoints=first,
    )  # fmt: skip
    again = Checkpoints(directory, ident, every_s=0, resume=True)
    again.open()
    resumed = run_check(
        model, props, depth=depth, kernel=kernel, workers=workers[1], checkpoints=again
    )
    return stopped, resumed, first, again


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_resumed_search_is_the_uninterrupted_one(case, kernel, tmp_path):
    cfg, depth = CASES[case]
    model, props = _model(cfg)
    whole = _figures(run_check(model, props, depth=depth, kernel=kernel))
    mid_level = 0
    for call in (1, 9, 40):
        directory = tmp_path / f"at{call}"
        stopped, resumed, first, again = _interrupted_then_resumed(
            cfg, depth, kernel, call, directory
        )
        assert again.resumed, "nothing was resumed"
        got = _figures(resumed)
        assert [k for k in whole if whole[k] != got[k]] == [], f"stopped at call {call}"
        saved = first.saved.get("safety", {})
        if stopped.ex.stopped == "interrupted" and saved.get("states", 0) < len(stopped.ex.states):
            mid_level += 1  # the states of the level in progress were left out
        assert not list(directory.rglob("*.tmp")), "a partial file was left"
    assert mid_level, "no stop fell in the middle of a level"


def test_two_workers_resume_what_one_worker_started(tmp_path):
    pytest.importorskip("cffi")
    cfg, depth = CASES["spawn-burst-mutation"]
    model, props = _model(cfg)
    whole = _figures(run_check(model, props, depth=depth, kernel="compiled"))
    _, resumed, _, _ = _interrupted_then_resumed(
        cfg, depth, "compiled", 12, tmp_path / "cp", workers=(1, 2)
    )
    assert _figures(resumed) == whole


def test_a_finished_run_resumes_to_the_same_result_without_searching(tmp_path):
    cfg, depth = CASES["mixed-depth9"]
    model, props = _model(cfg)
    ident = run_identity(model, props, depth=depth)
    first = Checkpoints(tmp_path, ident, every_s=1e9)
    first.open()
    whole = run_check(model, props, depth=depth, kernel="python", checkpoints=first)
    assert first.saved["safety"]["complete"] and first.saved["liveness"]["complete"]
    again = Checkpoints(tmp_path, ident, resume=True)
    again.open()
    seen = []
    resumed = run_check(
        model, props, depth=depth, kernel="python", checkpoints=again, progress=seen.append
    )
    assert seen == []  # no level was searched again
    assert _figures(resumed) == _figures(whole)


def test_the_directory_must_fit_the_run(tmp_path):
    model, props = _model({"cores": 2})
    ident = run_identity(model, props, depth=5)
    Checkpoints(tmp_path / "a", ident).open()
    with pytest.raises(CheckpointError, match="already holds a checkpoint"):
        Checkpoints(tmp_path / "a", ident).open()
    with pytest.raises(CheckpointError, match="no checkpoint there"):
        Checkpoints(tmp_path / "b", ident, resume=True).open()
    other = run_identity(model, props, depth=6)
    with pytest.raises(CheckpointError, match="another run.*depth differs"):
        Checkpoints(tmp_path / "a", other, resume=True).open()
    model3, props3 = _model({"cores": 3})
    with pytest.raises(CheckpointError, match="config differs"):
        Checkpoints(tmp_path / "a", run_identity(model3, props3, depth=5), resume=True).open()


# ---- the command line ----------------------------------------------------------

ARGS = ["--workload", "spawn-burst", "--steps", "macro", "--period", "2", "--depth", "0",
        "--quiet", "--json"]  # fmt: skip
# Runs of some seconds on either kernel, long enough to be stopped mid-way.
CORES = {"python": "2", "compiled": "3"}


def _counts(out: str) -> dict:
    s = json.loads(out)
    return {
        "result": {k: s["result"][k] for k in ("states", "transitions", "depth_reached")},
        "verdicts": {p["id"]: p["verdict"] for p in s["properties"]},
        "exit": s["exit_code"],
    }


@pytest.mark.parametrize("kernel", KERNELS)
def test_sigterm_then_resume_gives_the_uninterrupted_run(kernel, tmp_path):
    base = [*ARGS, "--cores", CORES[kernel], "--kernel", kernel]
    code, out, err = run_cli(*base, "--out", str(tmp_path / "r0"))
    assert code == 0, err
    whole = _counts(out)
    cp = tmp_path / "cp"
    args = [*base, "--out", str(tmp_path / "r1")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker", *args, "--checkpoint", str(cp),
         "--checkpoint-every", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                meta = json.loads((cp / "safety" / "meta.json").read_text())
                if meta["depth"] >= 3:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.005)
        if proc.poll() is not None:
            raise AssertionError("the search finished before it could be stopped")
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 4, err
    summary = json.loads(out)
    assert summary["checkpoint"]["saved"]["safety"]["complete"] is False
    assert not list(cp.rglob("*.tmp"))
    code, out, err = run_cli(*args, "--resume", str(cp))
    assert code == whole["exit"], err
    assert _counts(out) == whole
    assert json.loads(out)["checkpoint"]["resumed"]["safety"]["depth"] >= 3


def test_the_text_summary_says_how_to_continue(tmp_path):
    cp = tmp_path / "cp"
    args = ["--cores", "2", "--depth", "6", "--quiet", "--out", str(tmp_path / "r")]
    code, out, err = run_cli(*args, "--max-states", "50", "--checkpoint", str(cp))
    assert code == 4, err
    assert f"checkpoint {cp}: safety search complete, 50 states" in out
    code, out, err = run_cli(*args, "--max-states", "50", "--resume", str(cp))
    assert code == 4, err
    assert f"resumed   the safety search from {cp}: complete, 50 states" in out


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--checkpoint-every", "nan"], "--checkpoint-every must be a number of minutes"),
        (["--checkpoint-every", "-1"], "--checkpoint-every must be a number of minutes"),
        (["--engine", "smt", "--checkpoint", "{d}/x"], "are for --engine explicit"),
        (["--distributed", "local:1", "--checkpoint", "{d}/x"], "not --distributed"),
        (["--resume", "{d}/nothing"], "no checkpoint there"),
        (["--checkpoint", "{d}/f", "--resume", "{d}/f"], "not allowed with argument"),
        (["--checkpoint", "/proc/version/x"], "--checkpoint /proc/version/x"),
    ],
)
def test_bad_checkpoint_arguments_are_usage_errors(extra, needle, tmp_path):
    extra = [a.replace("{d}", str(tmp_path)) for a in extra]
    code, out, err = run_cli("--cores", "2", "--depth", "3", "--quiet", *extra)
    assert code == 2, (out, err)
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("damage", ["meta", "data", "truncate"])
def test_a_damaged_checkpoint_is_refused_cleanly(kernel, damage, tmp_path):
    cp = tmp_path / "cp"
    args = ["--cores", "2", "--depth", "5", "--quiet", "--kernel", kernel,
            "--property", "no-lost-g", "--out", str(tmp_path / "r")]  # fmt: skip
    code, _, err = run_cli(*args, "--checkpoint", str(cp))
    assert code == 0, err
    meta = cp / "safety" / "meta.json"
    data = cp / "safety" / json.loads(meta.read_text())["data"]
    if damage == "meta":
        meta.write_text("{not json")
    elif damage == "data":
        data.write_bytes(b"\x00" * 64)
    else:
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    code, out, err = run_cli(*args, "--resume", str(cp))
    assert code == 2, (out, err)
    assert "checkpoint" in err and "Traceback" not in err


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_stop_while_a_checkpoint_is_written_keeps_the_one_before(kernel, tmp_path, monkeypatch):
    """A second signal while the finished safety search's checkpoint is
    written: that checkpoint is abandoned, the one before stays, the safety
    verdicts stand and the liveness search is not started."""
    from checker.engine import checkpoint as ck

    cfg, depth = CASES["mixed-depth9"]
    model, props = _model(cfg)
    cps = Checkpoints(tmp_path, run_identity(model, props, depth=depth), every_s=0)
    cps.open()
    real = ck.SearchCheckpoint.save

    def save(self, meta, write_data):
        if meta.get("complete"):

            def stopped(path):
                raise KeyboardInterrupt

            return real(self, meta, stopped)
        return real(self, meta, write_data)

    monkeypatch.setattr(ck.SearchCheckpoint, "save", save)
    run = run_check(model, props, depth=depth, kernel=kernel, checkpoints=cps)
    assert run.interrupted and run.live_ex is None and run.liveness == {}
    assert run.ex.stopped == "depth"  # the safety search itself finished
    assert cps.saved["safety"] == {"error": "abandoned: stopped while writing it"}
    meta = json.loads((tmp_path / "safety" / "meta.json").read_text())
    assert meta["complete"] is False and meta["depth"] == depth  # the last level's
    assert not list(tmp_path.rglob("*.tmp"))
