"""k-induction: the targets are proved with the control-state invariants and
not without them, nor for a model whose step loses a G; both ways of asking
the step case agree; every counterexample to induction is made of real steps
of the model and breaks what it says it breaks; a property violated from the
initial state is reported as a failure, not as unproved."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from checker.smt.expr import evaluate
from checker.smt.induction import (
    CTI_START,
    DEFINED,
    TARGETS,
    TYPES,
    candidates,
    proof_invariants,
    prove,
)
from checker.smt.relation import relation_for
from checker.views.itf import read_trace
from model.config import Config
from model.factory import build_model
from specs import properties_of


def invariants(model):
    return [p for p in properties_of(model) if p.default and p.kind == "invariant"]


def test_counterexamples_to_induction_are_steps_of_the_model():
    model = build_model(Config(cores=1, workload="syscall-heavy"), symmetry=False)
    invs = invariants(model)
    res = prove(model, invs, k=1)
    assert not res.base_failed and not res.unknown
    assert set(res.proved) | set(res.not_proved) == {p.id for p in invs} | {TYPES, DEFINED}
    cand = candidates(relation_for(model, invs), invs)
    for name, cti in res.not_proved.items():
        first, second = cti.steps
        assert first.label == CTI_START and name in cti.broken
        # The step is one the model takes from that state, label included...
        if evaluate(cand[TYPES], first.state) and evaluate(cand[DEFINED], first.state):
            succ, _ = model.successors(first.state)
            assert (second.actor, second.label, second.state) in succ
        # ...and the second state breaks the candidate, the first does not.
        assert not evaluate(cand[name], second.state)
        assert evaluate(cand[name], first.state)


def assert_real_cti(model, invs, name, cti):
    """The counterexample to induction starts in a state satisfying the
    candidates, takes a step of the model (label included) and breaks `name`."""
    cand = candidates(relation_for(model, invs), invs)
    first, second = cti.steps
    assert first.label == CTI_START and name in cti.broken
    succ, _ = model.successors(first.state)
    assert (second.actor, second.label, second.state) in succ
    assert evaluate(cand[name], first.state) and not evaluate(cand[name], second.state)


@pytest.fixture(scope="module")
def proved():
    """k = 1 induction at --cores 1, syscall-heavy, asked per program counter."""
    model = build_model(Config(cores=1, workload="syscall-heavy"), symmetry=False)
    return model, prove(model, proof_invariants(model), k=1)


def test_the_targets_are_proved_with_the_control_state_invariants(proved):
    model, res = proved
    assert not res.base_failed and not res.unknown
    assert set(res.proved) >= set(TARGETS)
    # Without the control-state invariants, the targets are not inductive.
    weaker = prove(model, invariants(model), k=1)
    assert not set(weaker.proved) >= set(TARGETS)


def test_asking_per_program_counter_finds_what_one_query_finds(proved):
    """Houdini's result is the largest inductive subset, whatever order the
    queries come in: the two ways of asking must agree exactly."""
    model, split = proved
    whole = prove(model, proof_invariants(model), k=1, by_command=False)
    assert not split.unknown and not whole.unknown
    assert split.proved == whole.proved
    assert set(split.not_proved) == set(whole.not_proved)


def test_a_broken_step_is_not_proved():
    """A mutation whose step loses a G: the base case holds (the initial state
    is fine) and the step case must find the step that breaks no-lost-g."""
    model = build_model(
        Config(cores=1, workload="syscall-heavy", mutation="exitsyscall-drops-g"), symmetry=False
    )
    invs = proof_invariants(model)
    res = prove(model, invs, k=1)
    assert not res.base_failed and not res.unknown
    assert "no-lost-g" not in res.proved
    assert_real_cti(model, invs, "no-lost-g", res.not_proved["no-lost-g"])


def test_a_violation_from_the_initial_state_is_a_failure():
    model = build_model(Config(cores=1, mutation="wakep-leaks-nmspinning"), symmetry=False)
    res = prove(model, invariants(model), k=4)  # it fails after 3 steps
    assert "spinning-accounting" in res.base_failed
    assert "spinning-accounting" not in res.proved


def test_cli_prove_writes_viewable_counterexamples_the_same_whatever_the_hash_seed(tmp_path):
    runs = []
    for seed in ("0", "4242"):
        out_dir = tmp_path / seed
        code, out, err = run_cli(
            "prove",
            "--cores",
            "1",
            "--workload",
            "syscall-heavy",
            "--json",
            "--out",
            str(out_dir),
            env={"PYTHONHASHSEED": seed},
        )
        assert code == 0, err  # the three targets are proved
        runs.append((json.loads(out), out_dir))
    (doc, out_dir), (again, again_dir) = runs
    targets = [e for e in doc["invariants"] if e["target"]]
    assert [e["id"] for e in targets] == ["no-lost-g", "p-ownership", "spinning-accounting"]
    assert all(e["verdict"] == "proved" for e in targets)
    shown = 0
    for e, f in zip(doc["invariants"], again["invariants"], strict=True):
        assert {**e, "trace": None} == {**f, "trace": None}
        if e["verdict"] == "not-proved" and e["trace"]:
            trace = read_trace(e["trace"])
            assert len(trace["states"]) == 2
            assert trace["#meta"]["gmpcheck"]["engine"] == "smt-induction"
            assert trace == read_trace(f["trace"])  # the same counterexample
            code, text, err = run_cli("view", e["trace"], "--no-pager")
            assert code == 0, err
            shown += 1
    assert shown  # work-conservation and no-checkdead are not inductive here
