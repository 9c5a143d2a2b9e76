"""The compiled kernel against the Python steps, which are the specification.

For every workload and every registered mutation: the same successors
(actors, labels, states, in order), canonical forms, property verdicts,
atoms and fairness groups on sampled reachable states; the same searches
(states, numbering, parents, levels, transitions, first violations with
their messages and counterexample states), safety and liveness graphs alike.
A kernel generated with one wrong expression (the test seam) is caught.
"""

from __future__ import annotations

import json
import random

import pytest
from conftest import run_cli

from checker.engine.explore import explore
from checker.kernel import select_kernel, spot_check, unsupported_reason
from checker.kernel.build import BuildError, build_kernel
from checker.kernel.diff import compare_state
from checker.kernel.search import explore_compiled
from checker.run import run_check
from model.config import Config
from model.factory import build_model
from model.gmp import GMPModel
from model.mutations import MUTATIONS
from model.workloads import WORKLOADS
from specs import properties_of
from specs.property import LIVENESS

MACRO = {"steps": "macro", "period": 2}


def kernel_for(model):
    choice = select_kernel(model, properties_of(model), "compiled")
    assert choice.kernel is not None, choice.note
    return choice.kernel


def sample(model, n: int, depth: int, seed: int = 7) -> list[bytes]:
    """n states reachable within `depth` steps, spread over the levels."""
    ex = explore(model, [], depth=depth)
    rng = random.Random(seed)
    states = list(ex.states)
    return states if len(states) <= n else rng.sample(states, n)


def same_search(a, b) -> None:
    assert len(a.states) == len(b.states)
    assert a.transitions == b.transitions
    assert list(a.parent) == [int(x) for x in b.parent]
    assert a.level_start == b.level_start
    assert a.stopped == b.stopped
    assert a.truncated_states == b.truncated_states
    assert sorted(a.violations) == sorted(b.violations)
    if a.stopped != "max-states":  # a stop mid-chunk: chunks differ between the kernels
        assert a.coverage == b.coverage
        assert a.cuts == b.cuts
    for pid, va in a.violations.items():
        vb = b.violations[pid]
        assert (va.state, va.depth, va.message) == (vb.state, vb.depth, vb.message), pid
        assert va.next_state == vb.next_state, pid


def safety(model):
    return [p for p in properties_of(model) if p.kind != LIVENESS]


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_successors_agree_on_sampled_states(workload):
    model = build_model(Config(cores=2, workload=workload))
    k = kernel_for(model)
    for t in sample(model, 150, depth=10):
        assert compare_state(k, model, t) is None


@pytest.mark.parametrize("workload", ["mixed", "spawn-burst", "tight-loop"])
def test_macro_successors_agree_on_sampled_states(workload):
    model = build_model(Config(cores=2, workload=workload, **MACRO))
    k = kernel_for(model)
    for t in sample(model, 100, depth=6):
        assert compare_state(k, model, t) is None


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_searches_agree_on_every_mutation(name):
    """Each mutation at its registry configuration (depth capped): the same
    search, the same counterexamples."""
    mut = MUTATIONS[name]
    cfg = dict(mut.check_at)
    depth = min(cfg.pop("depth", 10), 14) if cfg.get("steps") != "macro" else 0
    cfg.pop("depth", None)
    model = build_model(Config(mutation=name, **cfg))
    k = kernel_for(model)
    props = safety(model)
    a = explore(model, props, depth=depth, max_states=60_000)
    b = explore_compiled(k, model, props, depth=depth, max_states=60_000)
    same_search(a, b)
    for t in sample(model, 40, depth=6):
        assert compare_state(k, model, t) is None


@pytest.mark.parametrize(
    "cfg",
    [
        {"cores": 3, "workload": "mixed"},
        {"cores": 3, "workload": "spawn-burst", "max_ms": 4},
        {"cores": 2, "workload": "syscall-heavy", "profile": "go1.26"},
        {"cores": 2, "workload": "mixed", "ring": 4, "steal_tries": 2},
    ],
)
def test_searches_agree_with_symmetry(cfg):
    model = build_model(Config(**cfg))
    k = kernel_for(model)
    props = safety(model)
    same_search(explore(model, props, depth=9), explore_compiled(k, model, props, depth=9))


@pytest.mark.parametrize(
    "cfg",
    [
        {"cores": 2, "workload": "yield-pair", **MACRO},
        {"cores": 1, "workload": "spawn-chain", **MACRO},
        {"cores": 2, "workload": "mixed"},
    ],
)
def test_liveness_graphs_agree(cfg):
    model = build_model(Config(**cfg), symmetry=False)
    k = kernel_for(model)
    live = [p for p in properties_of(model) if p.kind == LIVENESS]
    depth = 0 if cfg.get("steps") == "macro" else 8
    a = explore(model, live, depth=depth, graph=True)
    b = explore_compiled(k, model, live, depth=depth, graph=True)
    same_search(a, b)
    ea = sorted(zip(a.edge_src, a.edge_dst, a.edge_groups, strict=True))
    eb = sorted(zip(b.edge_src.tolist(), b.edge_dst.tolist(), b.edge_groups.tolist(), strict=True))
    assert ea == eb
    assert list(a.enabled) == b.enabled.tolist()
    assert list(a.atoms) == b.atoms.tolist()
    assert a.is_expanded == b.is_expanded and a.is_final == b.is_final


def test_liveness_verdicts_and_lassos_agree():
    cfg = Config(cores=1, workload="pingpong-hog", mutation="runnext-no-inherit", **MACRO)
    runs = []
    for kernel in ("python", "compiled"):
        model = build_model(cfg)
        runs.append(run_check(model, properties_of(model), depth=0, kernel=kernel))
    a, b = runs
    assert b.kernel == "compiled" and a.kernel == "python"
    for pid, va in a.liveness.items():
        vb = b.liveness[pid]
        assert (va.verdict, va.instance, va.loop, va.loop_action) == (
            vb.verdict,
            vb.instance,
            vb.loop,
            vb.loop_action,
        )
        assert [s.label for s in va.steps] == [s.label for s in vb.steps]
    assert a.liveness["no-starvation"].verdict == "fail"


def test_a_wrong_generated_expression_is_caught():
    """The seam: command 0's first written byte computed wrong. The sampled
    comparison and the spot check before a run both see it."""
    model = build_model(Config(cores=2, workload="mixed"))
    good = kernel_for(model)
    assert all(compare_state(good, model, t) is None for t in sample(model, 200, depth=8))
    # A command taken from the initial states, so the spot check meets it.
    from checker.kernel.diff import compiled_successors

    first = model.initial_states()[0]
    assert compiled_successors(good, model, first)[0]
    for fault in range(len(good.meta["commands"])):
        if good.meta["commands"][fault]["actor"] == model.L.SYSMON:
            break
    bad = build_kernel(model, properties_of(model), level="quick", fault=fault)
    diffs = [compare_state(bad, model, t) for t in sample(model, 200, depth=8)]
    assert any(d is not None for d in diffs)
    assert spot_check(bad, model) is not None


@pytest.mark.parametrize(
    "cfg",
    [
        {"cores": 2, "workload": "spawn-overflow", "ring": 4, **MACRO},
        {"cores": 1, "workload": "syscall-heavy", "max_ms": 1},  # the thread bound is hit
        {"cores": 2, "workload": "spawn-burst"},
    ],
)
def test_coverage_tables_agree(cfg):
    """The per-step coverage table (checker/engine/coverage.py) and the bounds hit:
    the same from both kernels, with one worker or two."""
    from checker.engine import coverage

    model = build_model(Config(**cfg))
    k = kernel_for(model)
    depth = 0 if cfg.get("steps") == "macro" else 14
    tables = []
    for ex in (
        explore(model, [], depth=depth),
        explore(model, [], depth=depth, workers=2),
        explore_compiled(k, model, [], depth=depth),
        explore_compiled(k, model, [], depth=depth, workers=2),
    ):
        table = coverage.rows(model, coverage.by_kind(model, ex.coverage))
        tables.append((coverage.render(table), sorted(ex.cuts.items())))
    assert all(t == tables[0] for t in tables)
    assert any(r.states for r in coverage.rows(model, coverage.by_kind(model, ex.coverage)))


def test_workers_and_hash_seeds_give_the_same_search():
    model = build_model(Config(cores=3, workload="mixed"))
    k = kernel_for(model)
    props = safety(model)
    one = explore_compiled(k, model, props, depth=9, workers=1)
    two = explore_compiled(k, model, props, depth=9, workers=2)
    same_search(one, two)
    outs = []
    for seed in ("0", "4242"):
        args = ["--cores", "3", "--depth", "8", "--json", "--quiet", "--kernel", "compiled"]
        code, out, err = run_cli(*args, env={"PYTHONHASHSEED": seed})
        assert code in (0, 4), err
        d = json.loads(out)
        assert d["search"]["kernel"] == "compiled"
        outs.append((d["result"]["states"], d["result"]["transitions"], d["properties"]))
    assert outs[0] == outs[1]


@pytest.mark.parametrize("workers", [1, 2])
def test_levels_of_many_chunks_give_the_same_search(monkeypatch, workers):
    """Levels cut into many chunks, phase A of one overlapping phase B of
    the last: the same search as the Python steps."""
    import checker.kernel.search as search

    monkeypatch.setattr(search, "CHUNK", 16)
    for cfg in (
        {"cores": 2, "workload": "spawn-burst", **MACRO},
        {"cores": 3, "workload": "mixed"},
    ):
        model = build_model(Config(**cfg))
        k = kernel_for(model)
        props = safety(model)
        depth = 0 if cfg.get("steps") else 8
        a = explore(model, props, depth=depth, max_states=20_000)
        b = explore_compiled(k, model, props, depth=depth, workers=workers, max_states=20_000)
        same_search(a, b)


def test_exact_storage_gives_the_same_search():
    model = build_model(Config(cores=2, workload="spawn-burst", mutation="steal-not-atomic"))
    k = kernel_for(model)
    props = safety(model)
    fp = explore_compiled(k, model, props, depth=13)
    exact = explore_compiled(k, model, props, depth=13, exact=True)
    same_search(fp, exact)
    assert fp.fingerprints and not exact.fingerprints
    assert exact.states[5] == explore(model, props, depth=13).states[5]


def test_a_model_the_generator_cannot_follow_runs_on_the_python_steps():
    class OwnSuccessors(GMPModel):
        def successors(self, t):
            return super().successors(t)

    model = OwnSuccessors(Config(cores=1, workload="mixed"))
    assert unsupported_reason(model) == "the model replaces successors()"
    choice = select_kernel(model, properties_of(model), "compiled")
    assert choice.kernel is None and "replaces successors()" in choice.note


def test_without_a_c_compiler_the_python_steps_run(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CC", "")
    monkeypatch.setenv("GMPCHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GMPCHECK_KERNEL")
    model = build_model(Config(cores=1, workload="mixed"))
    choice = select_kernel(model, properties_of(model), "auto")
    assert choice.kernel is None and "no C compiler" in choice.note
    with pytest.raises(BuildError):
        build_kernel(model, properties_of(model))


def test_the_summary_names_the_kernel_and_its_memory(tmp_path):
    args = ["--cores", "2", "--depth", "8", "--quiet", "--out", str(tmp_path)]
    code, out, _ = run_cli(*args, "--kernel", "compiled")
    assert code == 0, out
    assert "kernel    compiled" in out and "bytes/state" in out and "fingerprints" in out
    code, out, _ = run_cli(*args, "--kernel", "python")
    assert "kernel    python (asked for with --kernel python)" in out


def test_the_growth_curve_counts_complete_levels_only(capsys):
    """python -m checker.bench.growth: a search that ends prints every level
    and says so; one cut by --max-states names where it stopped and does not
    count the level it was in."""
    from checker.bench.growth import main as growth

    args = ["--cores", "1", "--workload", "tight-loop", "--steps", "macro", "--period", "2"]
    assert growth(args) == 0
    out = capsys.readouterr().out
    assert "every reachable state explored" in out
    model = build_model(Config(cores=1, workload="tight-loop", **MACRO))
    total = len(explore(model, [], depth=0).states)
    last = [ln for ln in out.splitlines() if ln.startswith("depth")][-1]
    assert f"states {total:>14,}" in last
    assert growth(["--cores", "2", "--max-states", "5000"]) == 0
    out = capsys.readouterr().out
    assert "stopped (max-states)" in out
    counted = [int(ln.split("states")[1].split()[0].replace(",", "")) for ln in out.splitlines()
               if ln.startswith("depth")]  # fmt: skip
    assert counted and counted[-1] < 5000
