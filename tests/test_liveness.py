"""Liveness under fairness: the verdicts, the assumptions they rest on, the
lassos, depth bounds, and why symmetry is off for it."""

from __future__ import annotations

import json

import pytest
from conftest import check_all, run_cli

from checker.engine.explore import explore
from checker.engine.liveness import check_property, concretize, fairness_mask, find_lasso
from checker.engine.protocol import identity
from checker.engine.trace import TraceError
from checker.run import run_check
from checker.views.itf import read_trace
from model.action import Action
from model.config import Config
from model.factory import build_model
from specs import properties_of
from specs.liveness import LIVENESS_PROPERTIES

MACRO = {"steps": "macro", "period": 2}
LIVE = {p.id: p for p in LIVENESS_PROPERTIES}


def verdicts(run) -> dict[str, str]:
    return {k: v.verdict for k, v in run.liveness.items()}


def test_tight_loop_starves_its_victim_without_async_preemption():
    """golang/go#10958: a loop with no safe point keeps the P; only the
    preemption signal frees it."""
    _, run = check_all(0, cores=1, workload="tight-loop", async_preempt=False, **MACRO)
    v = run.liveness["no-starvation"]
    assert v.verdict == "fail" and v.instance == "G1"
    cycle = [str(s.label) for s in v.steps[v.loop + 1 :]] + [v.loop_action]
    assert any("run.spin" in label for label in cycle)
    assert verdicts(check_all(0, cores=1, workload="tight-loop", **MACRO)[1])["no-starvation"] == (
        "pass"
    )


def test_the_verdict_rests_on_named_switchable_assumptions():
    model = build_model(Config(cores=1, workload="tight-loop", **MACRO), symmetry=False)
    ex = explore(model, [], depth=0, graph=True)
    prop = LIVE["no-starvation"]
    default = check_property(model, ex, prop, prop.fairness)
    assert default.verdict == "pass" and "signal" in default.fairness
    # Without "a pending preemption signal is eventually delivered", the M may
    # keep running the loop and never take the signal.
    weaker = tuple(a for a in prop.fairness if a != "signal")
    v = check_property(model, ex, prop, weaker)
    assert v.verdict == "fail" and v.fairness == weaker


def test_fairness_option_on_the_command_line(tmp_path):
    args = ["--cores", "1", "--workload", "tight-loop", "--steps", "macro", "--period", "2"]
    args += ["--depth", "0", "--property", "no-starvation", "--quiet", "--out", str(tmp_path)]
    code, out, _ = run_cli(*args, "--fairness", "m,sysmon,timeslice")
    assert code == 3 and "fairness: m, sysmon, timeslice" in out
    code, _, err = run_cli(*args, "--fairness", "m,nope")
    assert code == 2 and "unknown fairness assumption 'nope'" in err


def test_a_lasso_is_itf_with_loop_and_the_view_marks_the_cycle(tmp_path):
    code, out, _ = run_cli(
        "--cores", "1", "--workload", "pingpong-hog", "--mutation", "runnext-no-inherit",
        "--steps", "macro", "--period", "2", "--depth", "0", "--property", "no-starvation",
        "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 3, out
    # --steps macro and --period 2 are in the name: they are not the defaults.
    f = tmp_path / "no-starvation-pingpong-hog-c1-runnext-no-inherit-macro-p2.itf.json"
    doc = read_trace(f)
    loop = doc["loop"]
    assert 0 < loop < len(doc["states"]) - 1
    meta = doc["#meta"]["gmpcheck"]
    assert meta["fairness"] and meta["instance"] == "G1" and meta["loop_action"]
    code, view, _ = run_cli("view", str(f), "--no-pager")
    assert code == 0
    assert f"{loop:4}  " in view and "<- cycle starts here" in view
    assert f"-> back to step {loop} by {meta['loop_action']}" in view
    # Along the cycle the hog is never run.
    assert all(st["G"][1]["status"] == "runnable" for st in doc["states"][loop:])


def test_depth_bound_gives_inconclusive_not_pass_and_a_real_lasso_still_fails():
    _, run = check_all(10, cores=1, workload="pingpong-hog", **MACRO)
    assert set(verdicts(run).values()) <= {"inconclusive", "not-applicable"}
    v = run.liveness["progress"]
    assert str(sum(run.live_ex.is_expanded)) in v.reason.replace(",", "")
    _, run = check_all(8, cores=1, workload="tight-loop", async_preempt=False, **MACRO)
    assert verdicts(run)["no-starvation"] == "fail"


def test_why_symmetry_is_off_for_liveness():
    """On the quotient by renaming, a cycle through canonical states need not
    be a cycle of any run: the checker finds such a "lasso" for pingpong-hog
    and re-execution refuses it. With symmetry off, the verdict is a pass."""
    model = build_model(Config(cores=1, workload="pingpong-hog", **MACRO), symmetry=True)
    ex = explore(model, [], depth=0, graph=True)
    prop = LIVE["no-starvation"]
    fair = fairness_mask(model, prop.fairness)
    instance, stuck = prop.stuck(model)[0]
    lasso = find_lasso(ex, stuck, fair)
    assert lasso is not None
    with pytest.raises(TraceError):
        concretize(model, ex, lasso, prop, instance, fair)
    _, run = check_all(0, cores=1, workload="pingpong-hog", **MACRO)
    assert run.live_ex.states and verdicts(run)["no-starvation"] == "pass"
    plain = build_model(Config(cores=1, workload="pingpong-hog", **MACRO), symmetry=False)
    assert len(explore(plain, [], depth=0).states) == len(run.live_ex.states)


@pytest.mark.parametrize("kernel", ["python", "auto"])
def test_a_check_leaves_the_model_as_it_was(kernel):
    """Symmetry is an option of the searches, not a mode of the model: a
    check with liveness (the safety search reduced, the liveness search
    not) changes nothing of the model, before, during or after the run."""
    model = build_model(Config(cores=1, workload="pingpong-hog", **MACRO), symmetry=True)
    before = dict(vars(model))
    seen = []

    def phase(name: str, done: int, total: int | None) -> None:
        seen.append((name, all(vars(model).get(k) is v for k, v in before.items())))

    props = [p for p in properties_of(model) if p.default]
    run = run_check(model, props, depth=0, phase=phase, kernel=kernel)
    assert run.symmetry and run.live_ex is not run.ex
    assert ("liveness search", True) in seen and all(same for _, same in seen)
    assert all(vars(model)[k] is v for k, v in before.items())
    # The searches recorded the canonical forms they used, the model's only
    # where they reduced; and no search with symmetry off asks the model.
    assert run.ex.canonical == model.canonical
    assert run.live_ex.canonical is identity
    plain = run_check(model, props, depth=0, symmetry=False, kernel=kernel)
    assert not plain.symmetry and plain.ex is plain.live_ex
    assert len(plain.ex.states) == len(run.live_ex.states)
    assert verdicts(plain) == verdicts(run)


def test_spawn_chain_starves_a_goroutine_behind_it():
    """golang/go#52934 (open upstream): the chain keeps one inherited time
    slice through runnext; sysmon's preemption moves the running link to the
    global queue (or lands after the link spawned its child), and the child in
    runnext carries the chain on. A goroutine in the local ring never runs."""
    _, run = check_all(0, cores=1, workload="spawn-chain", **MACRO)
    v = run.liveness["no-starvation"]
    assert v.verdict == "fail"
    cycle = v.steps[v.loop :]
    assert any(
        a.calls("sysmon.retake") and a.has("preempt") for s in cycle for a in s.label.steps()
    )
    assert any(
        any(a.get("from") == "runnext" for a in s.label.steps())
        and any(a.get("inherit") == 1 for a in s.label.steps())
        for s in cycle
    )


@pytest.mark.parametrize(
    "workload,cores",
    [("tight-loop", 2), ("gosched-starve", 2), ("yield-pair", 2), ("pingpong-hog", 2)],
)
def test_go_scheduler_passes_liveness_on_small_exhaustive_configurations(workload, cores):
    _, run = check_all(0, cores=cores, workload=workload, **MACRO)
    assert run.ex.complete and run.live_ex.complete
    assert set(verdicts(run).values()) <= {"pass", "not-applicable"}, verdicts(run)


def test_termination_holds_for_a_finite_workload_and_fails_when_a_g_is_lost():
    _, run = check_all(0, cores=1, workload="syscall-heavy", **MACRO)
    assert verdicts(run)["termination"] == "pass"
    _, run = check_all(
        0, props=["termination"], cores=1, workload="syscall-heavy",
        mutation="exitsyscall-drops-g", **MACRO,
    )  # fmt: skip
    v = run.liveness["termination"]
    assert v.verdict == "fail"
    assert any(a.tail == " (the G is not queued)" for s in v.steps for a in s.label.steps())


def test_json_summary_carries_liveness_verdicts(tmp_path):
    code, out, _ = run_cli(
        "--cores", "1", "--workload", "tight-loop", "--steps", "macro", "--period", "2",
        "--depth", "0", "--no-async-preempt", "--json", "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 3
    d = json.loads(out)
    live = {p["id"]: p for p in d["properties"] if p["kind"] == "liveness"}
    assert live["no-starvation"]["verdict"] == "fail" and live["no-starvation"]["loop"] >= 0
    assert live["termination"]["verdict"] == "not-applicable"
    assert "loops forever" in live["termination"]["reason"]
    assert d["result"]["liveness_graph"]["states"] >= d["result"]["states"]


@pytest.mark.parametrize(
    "label, ps",
    [
        ("sysmon.retake(seen=P0; preempt=P1:G0)", {1}),
        ("sysmon.retake(seen=P0,P1; preempt=P1:G0,P0:G2)", {0, 1}),
        ("sysmon.retake(p=1, preempt=G0)", {1}),  # the open world's: the G alone
        ("sysmon.retake(seen=P0,P1)", set()),
    ],
)
def test_a_sysmon_preemption_counts_for_the_time_slice_of_its_p(label, ps):
    model = build_model(Config(cores=2))
    names = [name for name, _kind, _strength in model.fairness_groups()]
    mask = model.edge_groups(model.L.SYSMON, Action.parse(label))  # as a trace file has it
    got = {names[b] for b in range(len(names)) if mask >> b & 1}
    assert got == {"sysmon"} | {f"timeslice(P{p})" for p in ps}
