"""Record: free runs on real threads are accepted by the model (every step
enabled, every state equal); the check catches a runtime that is not the
model; a thread that raises or hangs stops the run without hanging the
caller, and the recording up to it is kept."""

from __future__ import annotations

import re
import threading

import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.cli import main
from checker.replay.record import check, record, recording_document
from checker.views import report
from checker.views.itf import read_trace, write_trace
from model.config import Config
from model.factory import build_model
from model.workloads import WORKLOADS
from runtime.factory import build_runtime
from runtime.scheduler import Runtime


def record_and_check(cfg: Config, seed: int, steps: int = 300, runtime=None):
    rt = runtime or build_runtime(cfg, seed=seed)
    rec = record(rt, steps=steps)
    divergence, violation = check(build_model(cfg, symmetry=False), rec)
    return rt, rec, divergence, violation


def _accepted(cfg: Config, seed: int) -> None:
    rt, rec, divergence, violation = record_and_check(cfg, seed)
    assert rt.error is None, rt.error[2]
    assert rec.run.stopped in ("steps", "quiescent"), (rec.run.stopped, rec.run.dump)
    assert divergence is None, "\n".join(divergence.lines())
    assert violation is None
    assert len(rec.steps) == min(300, rec.run.steps) > 0


@pytest.mark.parametrize("cores", [1, 2, 3, 4])
@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_free_run_is_a_run_of_the_model(workload, cores):
    _accepted(Config(cores=cores, workload=workload), seed=cores)


@settings(max_examples=40, deadline=None)
@given(
    workload=st.sampled_from(sorted(WORKLOADS)),
    cores=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_free_runs_of_any_seed_are_runs_of_the_model(workload, cores, seed):
    _accepted(Config(cores=cores, workload=workload), seed)


def test_free_runs_take_concurrent_steps():
    """The threads interleave: a recording is not one M's steps after the
    other's, and Ms other than m0, and sysmon, take steps."""
    _, rec, divergence, _ = record_and_check(Config(cores=4, workload="pingpong-hog"), 3, 2000)
    assert divergence is None
    actors = [a for a, _, _ in rec.steps]
    switches = sum(1 for x, y in zip(actors, actors[1:], strict=False) if x != y)
    assert switches > 50
    assert len(set(actors)) >= 3


@pytest.mark.parametrize("workload", ["pingpong-hog", "syscall-heavy", "locked-thread", "mixed"])
def test_pct_free_runs_are_runs_of_the_model(workload):
    """Under PCT (priorities with a few change points) instead of the random
    scheduler, free runs are runs of the model as well."""
    cfg = Config(cores=3, workload=workload)
    for seed in range(3):
        rt = build_runtime(cfg, seed=seed, scheduler="pct")
        _, rec, divergence, violation = record_and_check(cfg, seed, 500, rt)
        assert rt.error is None, rt.error[2]
        assert divergence is None, "\n".join(divergence.lines())
        assert violation is None and rec.steps


def test_a_seed_gives_the_same_run():
    """The scheduler of a free run decides every step: one seed, one run."""
    cfg = Config(cores=3, workload="syscall-heavy")
    runs = [record(build_runtime(cfg, seed=4), steps=400).steps for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 50
    other = record(build_runtime(cfg, seed=5), steps=400).steps
    assert other != runs[0]


@pytest.mark.parametrize("depth", [0, 3, 10])
def test_a_seed_and_a_pct_depth_give_the_same_run(depth):
    """PCT's priorities and change points come from the seed: one seed and
    one depth, one run; the random scheduler with the same seed, or PCT at
    another depth, takes another."""
    cfg = Config(cores=3, workload="pingpong-hog")

    def run(scheduler: str, d: int = depth) -> list:
        rt = build_runtime(cfg, seed=4, scheduler=scheduler, pct_depth=d)
        return record(rt, steps=400).steps

    runs = [run("pct") for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 50
    assert run("random") != runs[0]
    assert run("pct", depth + 5) != runs[0]


class NoSchedtick(Runtime):
    """Not the model: execute forgets pp.schedtick++ (as if every G
    inherited its time slice)."""

    def execute(self, mp, g, inherit):
        return super().execute(mp, g, True)


def test_the_check_rejects_a_runtime_that_is_not_the_model():
    cfg = Config(cores=2, workload="spawn-burst")
    _, rec, divergence, _ = record_and_check(cfg, 1, runtime=NoSchedtick(cfg, seed=1))
    assert divergence is not None
    assert divergence.label.startswith("execute(")
    assert [f for f, _, _ in divergence.fields][:1] in (["P[0].schedtick"], ["P[1].schedtick"])


class RaisesAtTheFifthExecute(Runtime):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.executes = 0

    def execute(self, mp, g, inherit):
        self.executes += 1
        if self.executes == 5:
            raise ValueError("injected fault")
        return super().execute(mp, g, inherit)


def test_a_thread_that_raises_stops_the_run_and_keeps_the_recording(tmp_path):
    cfg = Config(cores=2, workload="pingpong-hog")
    rt, rec, divergence, _ = record_and_check(cfg, 1, 5000, RaisesAtTheFifthExecute(cfg))
    assert rec.run.stopped == "error"
    who, exc, tb = rt.error
    assert who.startswith("M") and isinstance(exc, ValueError) and "injected fault" in tb
    assert rec.cut == "up to the step that raised" and 0 < len(rec.steps) < 5000
    assert divergence is None  # everything before the fault is a run of the model
    model = build_model(cfg, symmetry=False)
    doc = recording_document(
        model, rec, seed=1, divergence=None, violation=None, error=f"{who}: {exc}"
    )
    write_trace(tmp_path / "partial.itf.json", doc)
    back = read_trace(tmp_path / "partial.itf.json")
    assert len(back["states"]) == len(rec.steps) + 1
    assert "injected fault" in back["#meta"]["gmpcheck"]["message"]


def test_a_hung_runtime_is_stopped_with_a_dump():
    release = threading.Event()

    class HangsInStopm(Runtime):
        def mput(self, mp):
            release.wait()  # in stopm, holding sched.lock
            return super().mput(mp)

    try:
        rt = HangsInStopm(Config(cores=2, workload="spawn-burst"))
        run = rt.run_free(seconds=30, hang_after=0.5)
        assert run.stopped == "hung"
        assert run.elapsed < 10
        assert any("sched.lock" in line for line in run.dump if line.startswith("locks held"))
        assert any(line.startswith("sched: ") for line in run.dump)
    finally:
        release.set()


# ---- the command line -----------------------------------------------------------------


def test_record_writes_a_viewable_replayable_recording(tmp_path):
    out = tmp_path / "reports"
    code, stdout, stderr = run_cli(
        "record", "--cores", "2", "--workload", "mixed", "--steps", "200",
        "--seed", "5", "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert "accepted by the model: every step enabled, every state equal" in stdout
    path = out / "record-mixed-c2-seed5.itf.json"
    doc = read_trace(path)
    assert doc["#meta"]["gmpcheck"]["engine"] == "runtime"
    assert doc["#meta"]["gmpcheck"]["seed"] == 5
    code, stdout, _ = run_cli("view", str(path), "--compact")
    assert code == 0 and "init" in stdout
    code, stdout, _ = run_cli("replay", str(path))
    assert code == 0 and "the runtime's state equals the trace's" in stdout


def test_record_of_a_mutation_reports_the_violation(tmp_path):
    """With one P busy, M0's first wakep finds no idle P: the mutated wakep
    keeps its nmspinning increment, on real threads as in the model."""
    code, stdout, _ = run_cli(
        "record", "--cores", "1", "--workload", "spawn-burst",
        "--mutation", "wakep-leaks-nmspinning", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == report.EXIT_SAFETY
    assert "accepted by the model" in stdout
    assert re.search(r"spinning-accounting violated at step \d+: nmspinning = 1 but 0 Ms", stdout)


def test_record_under_pct_from_the_command_line(tmp_path):
    """`--scheduler pct`: the same seed and depth write the same recording
    (its own file, beside the random scheduler's), which replays."""
    args = ["--cores", "3", "--workload", "pingpong-hog", "--steps", "300", "--seed", "2"]
    docs = []
    for run in range(2):
        out = tmp_path / str(run)
        code, stdout, stderr = run_cli("record", *args, "--scheduler", "pct", "--out", str(out))
        assert code == 0, stderr
        assert "run       seed 2, PCT depth 3: " in stdout
        docs.append(read_trace(out / "record-pingpong-hog-c3-pct3-seed2.itf.json"))
    assert docs[0]["states"] == docs[1]["states"]
    meta = docs[0]["#meta"]["gmpcheck"]
    how = meta["recording"]
    assert (meta["seed"], how["scheduler"], how["pct_depth"]) == (2, "pct", 3)
    out = tmp_path / "0"
    pct8 = ["--scheduler", "pct", "--pct-depth", "8"]
    code, _, _ = run_cli("record", *args, *pct8, "--out", str(out))
    assert code == 0
    deeper = read_trace(out / "record-pingpong-hog-c3-pct8-seed2.itf.json")
    assert deeper["states"] != docs[0]["states"]
    code, _, _ = run_cli("record", *args, "--out", str(out))  # the default: random
    assert code == 0
    meta = read_trace(out / "record-pingpong-hog-c3-seed2.itf.json")["#meta"]["gmpcheck"]
    assert (meta["recording"]["scheduler"], meta["recording"]["pct_depth"]) == ("random", None)
    code, stdout, _ = run_cli("replay", str(out / "record-pingpong-hog-c3-pct3-seed2.itf.json"))
    assert code == 0 and "the runtime's state equals the trace's" in stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scheduler", "fifo"], "invalid choice: 'fifo'"),
        (["--pct-depth", "3"], "--pct-depth goes with --scheduler pct"),
        (["--scheduler", "pct", "--pct-depth", "101"], "--pct-depth must be at most 100"),
        (["--scheduler", "pct", "--pct-depth", "-1"], "--pct-depth must be at least 0"),
        (["--scheduler", "pct", "--pct-depth", "two"], "--pct-depth must be a whole number"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--seconds", "0"], "--seconds must be positive"),
        (["--steps", "5", "--seconds", "1"], "not allowed with argument"),
        (["--steps", "20001"], "--steps must be at most 20,000"),
        (["--model", "x.py:Y"], "--model"),
        (["--workload", "nope"], "unknown workload"),
    ],
)
def test_record_usage_errors(args, message, capsys, tmp_path):
    code = main(["record", "--out", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1, err
