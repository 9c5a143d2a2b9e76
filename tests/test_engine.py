"""The explicit engine: generic (a classic model, confirmed with spin),
deterministic (workers, hash seeds), symmetry-sound, bounded honestly."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import check, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.engine.explore import STOP_DEPTH, STOP_EXHAUSTED, STOP_MAX_STATES, explore
from checker.engine.trace import rebuild, rebuild_path
from model.config import Config
from model.factory import build_model
from specs import properties_of
from tests.classic.peterson import Peterson

CLASSIC = Path(__file__).parent / "classic"


def test_peterson_state_count_is_what_spin_counts(tmp_path):
    m = Peterson()
    ex = explore(m, properties_of(m), depth=0)
    assert ex.stopped == STOP_EXHAUSTED and not ex.violations
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        pytest.skip(
            "Debian's spin (and gcc) are needed to confirm the count (.ci/run installs spin)"
        )
    shutil.copy(CLASSIC / "peterson.pml", tmp_path)
    subprocess.run(["spin", "-a", "peterson.pml"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(
        ["gcc", "-O1", "-DNOREDUCE", "-DSAFETY", "-o", "pan", "pan.c"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(["./pan"], cwd=tmp_path, check=True, capture_output=True, text=True)
    stored = int(re.search(r"(\d+) states, stored", out.stdout).group(1))
    matched = int(re.search(r"(\d+) states, matched", out.stdout).group(1))
    assert len(ex.states) == stored
    # spin counts the initial state as a transition; the engine counts edges.
    assert ex.transitions == stored + matched - 1


class SymmetricPeterson(Peterson):
    """Peterson with its own symmetry: the two processes swapped (and turn)."""

    def __init__(self, broken: bool = False):
        super().__init__(broken)
        self.calls = 0

    def canonical(self, s):
        self.calls += 1
        return min(s, (s[1], s[0], s[3], s[2], 1 - s[4], s[5]))


def test_a_models_own_canonical_form_is_the_searchs_option():
    """The model protocol: a model's `canonical` is its symmetry; a search
    with symmetry on stores its canonical states, and traces follow them; a
    search with symmetry off never asks for it."""
    m = SymmetricPeterson(broken=True)
    props = properties_of(m)
    plain = explore(m, props, depth=0, symmetry=False)
    assert m.calls == 0 and len(plain.states) == len(explore(Peterson(True), props, depth=0).states)
    reduced = explore(m, props, depth=0)
    assert m.calls > 0 and len(reduced.states) < len(plain.states)
    assert set(reduced.states) == {m.canonical(s) for s in plain.states}
    for ex in (plain, reduced):
        steps = rebuild(m, ex, ex.violations["mutual-exclusion"], props[0])
        assert len(steps) == 9 and steps[-1].state[5] == 2


def test_broken_peterson_violates_mutual_exclusion_with_a_shortest_trace():
    m = Peterson(broken=True)
    props = properties_of(m)
    ex = explore(m, props, depth=0)
    v = ex.violations["mutual-exclusion"]
    steps = rebuild(m, ex, v, props[0])
    assert steps[-1].state[5] == 2
    # Breadth-first: no shorter path reaches a violating state.
    # Each process needs flag, turn, await and incrit++: 8 steps is the fewest.
    assert len(steps) - 1 == 8


def test_depth_bound_is_respected_and_reported():
    _, ex = check(5, cores=2)
    assert ex.stopped == STOP_DEPTH and ex.depth_reached == 5
    assert not ex.complete


def test_max_states_stops_with_a_partial_result():
    model = build_model(Config(cores=2))
    ex = explore(model, properties_of(model), depth=0, max_states=500)
    assert ex.stopped == STOP_MAX_STATES and 500 <= len(ex.states) < 5000


def test_deadlock_is_a_state_without_successors_that_is_not_an_end():
    class Stuck(Peterson):
        def successors(self, s):
            out, trunc = super().successors(s)
            return ([] if s[0] == 3 else out), trunc

    m = Stuck()
    from specs.property import DEADLOCK_PROPERTY

    ex = explore(m, [DEADLOCK_PROPERTY], depth=0)
    assert "deadlock" in ex.violations
    assert ex.states[ex.violations["deadlock"].state][0] == 3


def test_a_finished_workload_is_not_a_deadlock():
    _, ex = check(0, cores=1, workload="spawn-burst")
    assert ex.complete and not ex.violations


def _summary(model_args: list[str], workers: int, seed: str, out: Path):
    code, stdout, _ = run_cli(
        *model_args,
        "--workers",
        str(workers),
        "--json",
        "--quiet",
        "--out",
        str(out),
        env={"PYTHONHASHSEED": seed},
    )
    d = json.loads(stdout)
    d["result"].pop("elapsed_s")
    d["result"].pop("states_per_s")
    d["result"].pop("total_s", None)
    d["result"].get("memory", {}).pop("peak_rss_mb", None)
    for timing in ("elapsed_s", "analysis_s"):
        d["result"].get("liveness_graph", {}).pop(timing, None)
    d["search"].pop("workers")
    traces = {}
    for p in d["properties"]:
        if "trace" in p:
            traces[p["id"]] = Path(p.pop("trace")).read_text()
    return code, d, traces


def test_same_states_counts_and_counterexample_whatever_workers_and_hash_seed(tmp_path):
    args = [
        "--cores",
        "2",
        "--workload",
        "spawn-burst",
        "--mutation",
        "no-needspinning",
        "--depth",
        "25",
    ]
    runs = [
        _summary(args, workers, seed, tmp_path / f"{workers}-{seed}")
        for workers, seed in ((1, "0"), (2, "1"), (2, "4242"), (1, "random"))
    ]
    first = runs[0]
    assert first[0] == 1 and first[2], "the mutation must be caught for this test to mean anything"
    for r in runs[1:]:
        assert r == first


def test_symmetry_changes_counts_not_verdicts():
    for mutation, cfg in (("", {}), ("no-needspinning", {"workload": "spawn-burst"})):
        res = []
        for symmetry in (True, False):
            model, ex = check(20, symmetry=symmetry, cores=2, mutation=mutation, **cfg)
            res.append((len(ex.states), {k: v.depth for k, v in ex.violations.items()}))
        (n_sym, v_sym), (n_plain, v_plain) = res
        assert v_sym == v_plain
        assert n_sym < n_plain


def test_symmetric_search_finds_exactly_the_orbits_of_the_plain_search():
    plain = build_model(Config(cores=3, workload="spawn-burst"), symmetry=False)
    sym = build_model(Config(cores=3, workload="spawn-burst"), symmetry=True)
    ex_plain = explore(plain, [], depth=14)
    ex_sym = explore(sym, [], depth=14)
    orbits = {sym.canonical(s) for s in ex_plain.states}
    assert set(ex_sym.states) == orbits


@pytest.fixture(scope="module")
def reachable():
    model = build_model(Config(cores=3), symmetry=True)
    plain = build_model(Config(cores=3), symmetry=False)
    ex = explore(plain, [], depth=10)
    return model, ex.states


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_canonical_form_ignores_renaming(reachable, data):
    model, states = reachable
    L = model.L
    s = data.draw(st.sampled_from(states))
    perm = [data.draw(st.permutations(range(n))) for n in (L.nP, L.nM, L.nG)]
    renamed = model.symmetry.rename(s, *perm)
    assert model.canonical(renamed) == model.canonical(s)
    c = model.canonical(s)
    assert model.canonical(c) == c
    # The renamed state is a state of the same kind: same properties hold.
    for p in properties_of(model):
        if p.kind == "invariant":
            assert (p.check(model, s) is None) == (p.check(model, renamed) is None)


def test_traces_are_rebuilt_by_re_execution_from_concrete_states():
    model, ex = check(12, cores=4)
    rng = random.Random(7)
    for idx in rng.sample(range(len(ex.states)), 30):
        steps = rebuild_path(model, [ex.states[i] for i in ex.path_to(idx)], ex.key)
        assert model.canonical(steps[-1].state) == ex.states[idx]
        for a, b in zip(steps, steps[1:], strict=False):
            succ, _ = model.successors(a.state)
            assert (b.actor, b.label, b.state) in succ
