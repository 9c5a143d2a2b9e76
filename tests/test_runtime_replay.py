"""Replay: every counterexample of every mutation reproduces on the runtime
with that mutation, on real threads, under each profile the mutation
applies to; on the correct runtime it diverges at the step the correct
scheduler does not allow; lassos go round their cycle; bad traces are
refused with one line and exit 2."""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import replace

import pytest
from conftest import run_cli

from checker.cli import main
from checker.engine.trace import INIT, Step
from checker.replay.conform import model_steps
from checker.replay.replay import ReplayError, model_chain, plan_steps, replay, trace_config
from checker.views import report
from checker.views.itf import read_trace, trace_document, write_trace
from model.config import PROFILES, Config
from model.factory import build_model
from model.mutations import MUTATIONS
from runtime.factory import runtime_class_of
from runtime.scheduler import Runtime

BUGS = [m for m in MUTATIONS.values() if not m.benign]
# Each bug under each profile it applies to (go1.26: its own counterexamples).
CASES = [
    pytest.param(profile, m, id=m.name if profile == "go1.25" else f"{profile}-{m.name}")
    for profile in PROFILES
    for m in BUGS
    if profile in m.profiles
]


def _read(traces: dict, bugs: list) -> dict[str, list[dict]]:
    out = {mut.name: [read_trace(f) for f in traces[mut.name]] for mut in bugs}
    for mut in bugs:
        # One trace per property each of its checks violates.
        want = {p for props, _ in mut.checks() for p in props}
        got = {d["#meta"]["gmpcheck"]["property"] for d in out[mut.name]}
        assert got == want, f"{mut.name}: counterexamples for {got}, claims {want}"
    return out


@pytest.fixture(scope="module")
def counterexamples(mutation_traces) -> dict[str, list[dict]]:
    """mutation -> the traces `python -m checker` writes for it with its own
    check arguments (conftest.py mutation_traces: its configuration, depth,
    step size and each property's own fairness; lassos for liveness)."""
    return _read(mutation_traces, BUGS)


@pytest.fixture(scope="module")
def counterexamples_go126(mutation_traces_go126) -> dict[str, list[dict]]:
    """The same under the go1.26 profile, for the bugs that apply to it."""
    return _read(mutation_traces_go126, [m for m in BUGS if "go1.26" in m.profiles])


def _traces_of(request, profile: str, mut) -> list[dict]:
    fixture = "counterexamples" if profile == "go1.25" else "counterexamples_go126"
    docs = request.getfixturevalue(fixture)[mut.name]
    assert all(d["#meta"]["gmpcheck"]["config"]["profile"] == profile for d in docs)
    return docs


@pytest.mark.parametrize("profile, mut", CASES)
def test_counterexample_reproduces_on_the_mutated_runtime(request, profile, mut):
    for doc in _traces_of(request, profile, mut):
        res = replay(doc)
        g = doc["#meta"]["gmpcheck"]
        assert res.divergence is None, res.divergence.lines()
        assert res.steps == res.planned == len(doc["states"]) - 1 + _closing_steps(doc)
        assert res.mutation == mut.name
        assert "sysmon" in res.threads and "M0" in res.threads  # each on its own thread
        if doc.get("loop") is not None:  # a lasso goes round its cycle, or stutters
            assert res.cycles == 1 or res.stutters
        # The property fails on the runtime's own states, as in the trace: its
        # last state, or every state of the lasso's cycle.
        assert res.reproduced == g["message"]


def _closing_steps(doc: dict) -> int:
    """1 if the trace is a lasso whose last state does not repeat its loop
    state (replay takes the step back), else 0."""
    loop = doc.get("loop")
    if loop is None or doc["#meta"]["gmpcheck"].get("loop_action", "").startswith("(stutters"):
        return 0
    strip = [{k: v for k, v in doc["states"][i].items() if k != "#meta"} for i in (loop, -1)]
    return int(strip[0] != strip[1])


def _first_step_the_correct_scheduler_refuses(doc: dict) -> tuple[int, str]:
    """From the model alone: the first step of the replay (the trace's steps,
    the step closing a lasso, the stutter) that Go's scheduler does not take
    to the same state, or where checkdead counts differently, or (a
    stutter) where it has a step the trace's model does not; its label."""
    cfg = trace_config(doc)
    mutated = build_model(cfg, symmetry=False)
    correct = build_model(replace(cfg, mutation=""), symmetry=False)
    plan, stutters = plan_steps(doc, mutated, loops=1)
    t = mutated.initial_states()[0]
    macro = cfg.steps == "macro"
    for k, step in enumerate(plan, 1):
        for a, _, fine, u in model_chain(mutated, t, step, macro):
            allowed = any(v == u for _, _, v in model_steps(correct, t, a)[0])
            if not allowed or correct.checkdead_run(u) != mutated.checkdead_run(u):
                return k, step.label or fine
            t = u
    for a in range(len(mutated.actor_names())) if stutters else ():
        if model_steps(correct, t, a)[0] and not model_steps(mutated, t, a)[0]:
            return len(plan) + 1, doc["#meta"]["gmpcheck"]["loop_action"]
    raise AssertionError("the correct scheduler takes every step of the trace")


@pytest.mark.parametrize("profile, mut", CASES)
def test_counterexample_diverges_on_the_correct_runtime(request, profile, mut):
    for doc in _traces_of(request, profile, mut):
        res = replay(doc, correct=True)
        assert res.mutation == ""
        d = res.divergence
        assert d is not None, f"{mut.name}: the correct runtime followed the whole trace"
        assert (d.step, d.label) == _first_step_the_correct_scheduler_refuses(doc)
        assert d.fields or "checkdead" in d.reason or "stutters" in d.reason
        assert res.steps == d.step - 1


def test_replay_from_the_command_line(tmp_path):
    """`check` writes a counterexample, `replay` reproduces it (exit 0) and
    with --correct names the step where Go's scheduler differs (exit 5)."""
    out = tmp_path / "reports"
    code, _, _ = run_cli(
        "--mutation", "exitsyscall-drops-g", "--cores", "1", "--workload", "syscall-heavy",
        "--depth", "11", "--property", "no-lost-g", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert code == 1
    (trace,) = out.glob("*.itf.json")
    code, stdout, stderr = run_cli("replay", str(trace))
    assert code == 0, stderr
    assert "reproduced on real threads: no-lost-g: G0 is runnable but in no run queue" in stdout
    code, stdout, _ = run_cli("replay", str(trace), "--correct", "--json")
    assert code == report.EXIT_REPLAY == 5
    result = json.loads(stdout)
    assert result["schema"] == "gmpcheck.replay/1" and result["notes"] == []  # a stable key
    states = read_trace(trace)["states"]
    bug = next(i for i, st in enumerate(states) if "not queued" in st["#meta"]["action"])
    assert result["divergence"]["step"] == bug
    (diff,) = result["divergence"]["fields"]  # Go's exitsyscall0 queues the G
    assert diff["field"] == "sched.runq" and diff["expected"] == [] and len(diff["runtime"]) == 1


def test_a_lasso_whose_obligation_is_met_on_the_runtime_is_not_reproduced(counterexamples):
    """A lasso is reproduced only if the property's obligation is unmet in
    every state of the cycle on the runtime: for a G that does run on the
    cycle, it is not."""
    (doc,) = counterexamples["runnext-no-inherit"]
    starved = doc["#meta"]["gmpcheck"]["instance"]
    cycle = doc["states"][doc["loop"] :]
    ran = next(f"G{g['id']}" for st in cycle for g in st["G"] if g["status"] == "running")
    assert ran != starved
    other = copy.deepcopy(doc)
    other["#meta"]["gmpcheck"]["instance"] = ran
    assert replay(doc).reproduced == doc["#meta"]["gmpcheck"]["message"]
    res = replay(other)
    assert res.divergence is None and res.cycles == 1 and res.reproduced is None


def _lasso(stored_closing: bool, name_the_closing_step: bool = False) -> dict:
    """A lasso of the model: a walk of pingpong-hog until a state repeats.
    The step back to the loop's state is stored (the last state repeats
    it), named in #meta.gmpcheck.loop_action (as the liveness engine
    writes lassos), or neither (replay finds it)."""
    model = build_model(Config(cores=1, workload="pingpong-hog"), symmetry=False)
    t = model.initial_states()[0]
    steps = [Step(None, INIT, t)]
    seen = {t: 0}
    rng = random.Random(5)
    while True:
        a, label, t = rng.choice(model.successors(t)[0])
        if t in seen:
            break
        seen[t] = len(steps)
        steps.append(Step(a, label, t))
    loop = seen[t]
    if stored_closing:
        steps.append(Step(a, label, t))  # the last state repeats the loop's
    meta = {"engine": "explicit", "property": None, "kind": "lasso", "depth": len(steps) - 1}
    if name_the_closing_step:
        meta["loop_action"] = str(label)
    return trace_document(model, steps, meta, loop=loop)


@pytest.mark.parametrize("stored_closing, named", [(False, False), (False, True), (True, False)])
def test_lasso_goes_round_its_cycle(stored_closing, named):
    doc = _lasso(stored_closing, named)
    res = replay(doc, loops=3)
    assert res.divergence is None, res.divergence.lines()
    assert res.cycles == 3
    cycle = len(doc["states"]) - doc["loop"] - (1 if stored_closing else 0)
    assert res.planned == len(doc["states"]) - 1 + (0 if stored_closing else 1) + 2 * cycle


def _walk(cfg: Config, seed: int, n: int) -> dict:
    """A trace of the correct model: a seeded random walk of n steps."""
    model = build_model(cfg, symmetry=False)
    t = model.initial_states()[0]
    steps = [Step(None, "init", t)]
    rng = random.Random(seed)
    for _ in range(n):
        succ = model.successors(t)[0]
        if not succ:
            break
        a, label, t = rng.choice(succ)
        steps.append(Step(a, label, t))
    meta = {"engine": "explicit", "property": None, "kind": "walk", "depth": len(steps) - 1}
    return trace_document(model, steps, meta)


class ActsOnAnotherVictim(Runtime):
    """Not Go: stealWork takes the first unvisited P, whatever the victim
    handed to it (the choice is ignored, not refused)."""

    def choose(self, mp, where, options, shuffle=False, **frame):
        c = super().choose(mp, where, options, shuffle, **frame)
        return options()[0] if where == "stealWork" else c


class SkipsAnEmptyGlobalQueue(Runtime):
    """Not the model: findRunnable does not stop to look at an empty global
    queue (a step less, with nothing to take: only the path changes)."""

    def point(self, mp, where, **frame):
        if where == "findRunnable: globrunqget" and not self.sched.runq:
            return None
        return super().point(mp, where, **frame)


def test_a_runtime_that_acts_on_another_choice_parts_ways_with_the_trace():
    """Labels are not compared (the runtime names its steps in its own
    words). A step by the right actor that leaves the data as the trace has
    it but acts on another choice (an idle victim for another idle victim)
    is caught all the same: the Ps stealWork visited are a field."""
    doc = _walk(Config(cores=3, workload="spawn-burst"), 0, 300)
    assert replay(doc).divergence is None
    d = replay(doc, runtime_class=ActsOnAnotherVictim).divergence
    assert d is not None and d.label.startswith("stealWork(") and "victim=2" in d.label
    assert d.fields == [("M[0].mask", 4, 2)]  # the trace visited P2, the runtime P1


def test_a_runtime_that_takes_another_path_parts_ways_with_the_trace():
    """A runtime whose step leaves every queue, G and P as the trace has
    them but stops next at another point (it skips a step) is caught on
    the M's program counter, at the step before the one it skips."""
    doc = _walk(Config(cores=3, workload="spawn-burst"), 1, 300)
    d = replay(doc, runtime_class=SkipsAnEmptyGlobalQueue).divergence
    assert d is not None and d.label.startswith("findRunnable.runqget(") and "empty" in d.label
    assert d.fields == [("M[1].pc", "FR_GLOBRUNQ", "FR_STEAL")]


def test_a_thread_that_raises_ends_the_replay(good_doc):
    """No waiting for the step to time out: the replay reports the thread
    and its exception (the command line turns it into exit 70)."""

    class RaisesInExitsyscall(runtime_class_of("exitsyscall-drops-g")):
        def exitsyscall(self, mp):
            raise ValueError("injected fault")

    t = time.monotonic()
    with pytest.raises(ReplayError, match="M0 raised ValueError"):
        replay(good_doc, runtime_class=RaisesInExitsyscall, step_timeout=30)
    assert time.monotonic() - t < 10


def test_a_stuttering_lasso_replays_its_prefix(good_doc):
    """A lasso whose cycle is its last state (nothing fair steps there)."""
    doc = copy.deepcopy(good_doc)
    doc["loop"] = len(doc["states"]) - 1
    doc["#meta"]["gmpcheck"]["loop_action"] = "(stutters: M0 never steps)"
    res = replay(doc, loops=3)
    assert res.divergence is None and res.stutters and res.cycles == 0
    assert res.steps == res.planned == len(doc["states"]) - 1


def _as_macro_steps(doc: dict) -> dict:
    """The trace with each run of one actor's consecutive steps merged into
    one step labelled `a; b; c`, as a `--steps macro` trace has them."""
    d = copy.deepcopy(doc)
    states = [d["states"][0]]
    for st in d["states"][1:]:
        last = states[-1]["#meta"]
        if len(states) > 1 and last["actor"] == st["#meta"]["actor"]:
            st["#meta"]["action"] = f"{last['action']}; {st['#meta']['action']}"
            states[-1] = st
        else:
            states.append(st)
    for i, st in enumerate(states):
        st["#meta"]["index"] = i
    d["states"] = states
    d["#meta"]["gmpcheck"]["config"]["steps"] = "macro"
    d["#meta"]["gmpcheck"]["depth"] = len(states) - 1
    return d


def test_macro_steps_are_replayed_fine_step_by_fine_step(counterexamples):
    doc = counterexamples["resetspinning-no-wakep"][0]
    macro = _as_macro_steps(doc)
    assert len(macro["states"]) < len(doc["states"])  # some steps were merged
    res = replay(macro)
    assert res.divergence is None, res.divergence.lines()
    assert res.steps == len(macro["states"]) - 1
    assert res.fine_steps == len(doc["states"]) - 1
    assert res.reproduced == doc["#meta"]["gmpcheck"]["message"]
    d = replay(macro, correct=True).divergence
    assert d is not None and "fine step" in d.reason and "resetspinning" in d.reason


def test_any_engine_replays():
    """Replay reads only the trace format: a trace from another engine (or a
    recording) replays the same."""
    doc = _lasso(False)
    doc["#meta"]["gmpcheck"]["engine"] = "z3"
    del doc["loop"]
    assert replay(doc).divergence is None


# ---- bad traces: one line, exit 2 ------------------------------------------------------


@pytest.fixture(scope="module")
def good_doc(counterexamples) -> dict:
    return counterexamples["exitsyscall-drops-g"][0]


def _bad(tmp_path, doc_or_text, capsys) -> str:
    path = tmp_path / "bad.itf.json"
    if isinstance(doc_or_text, str):
        path.write_text(doc_or_text)
    else:
        write_trace(path, doc_or_text)
    code = main(["replay", str(path)])
    err = capsys.readouterr().err
    assert code == report.EXIT_USAGE == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _edited(doc: dict, edit) -> dict:
    d = copy.deepcopy(doc)
    edit(d)
    return d


def test_malformed_trace(tmp_path, capsys, good_doc):
    assert "not valid JSON" in _bad(tmp_path, json.dumps(good_doc)[:-40], capsys)


def test_truncated_trace(tmp_path, capsys, good_doc):
    err = _bad(tmp_path, _edited(good_doc, lambda d: d["states"].pop()), capsys)
    assert "truncated" in err


def test_trace_of_another_model(tmp_path, capsys, good_doc):
    err = _bad(
        tmp_path,
        _edited(good_doc, lambda d: d["#meta"]["gmpcheck"].update(model_hash="0123456789abcdef")),
        capsys,
    )
    assert "another version of the model" in err


def test_trace_of_another_configuration(tmp_path, capsys, good_doc):
    err = _bad(
        tmp_path,
        _edited(good_doc, lambda d: d["#meta"]["gmpcheck"]["config"].update(cores=2)),
        capsys,
    )
    assert "states[0].P: 1 entries, where there must be at least 2" in err


def test_trace_with_an_unknown_mutation(tmp_path, capsys, good_doc):
    err = _bad(
        tmp_path,
        _edited(good_doc, lambda d: d["#meta"]["gmpcheck"]["config"].update(mutation="no-such")),
        capsys,
    )
    assert "unknown mutation" in err


def test_trace_with_an_edited_step(tmp_path, capsys, good_doc):
    def edit(d):
        d["states"][4]["sched"]["nmspinning"] = 3

    err = _bad(tmp_path, _edited(good_doc, edit), capsys)
    assert "no step of the model leads to state 4" in err


def test_trace_with_an_unknown_actor(tmp_path, capsys, good_doc):
    err = _bad(
        tmp_path, _edited(good_doc, lambda d: d["states"][2]["#meta"].update(actor="M9")), capsys
    )
    assert "unknown actor 'M9'" in err
