"""`--graph FILE`: the explored state graph, its size limit, its formats."""

from __future__ import annotations

import json
import shutil
import subprocess
from itertools import pairwise

import networkx as nx
import pytest
from classic.peterson import Peterson
from conftest import run_cli

from checker.engine.explore import explore
from checker.engine.graph import GRAPH_MAX_STATES, GraphError, graph_format, state_graph, to_dot
from specs import properties_of


def _explore(model, depth=0):
    return explore(model, properties_of(model), depth=depth, workers=1)


def test_the_graph_of_a_complete_search_is_the_engine_s_graph():
    model = Peterson()
    ex = _explore(model)
    assert ex.complete and not ex.violations
    g = state_graph(model, ex)
    assert g.number_of_nodes() == len(ex.states)
    assert g.number_of_edges() == ex.transitions
    # Breadth-first: a state's depth is its distance from the initial state.
    dist = nx.single_source_shortest_path_length(g, "s0")
    assert {n: d["depth"] for n, d in g.nodes(data=True)} == dist
    # Each edge is a step of the model.
    for a, b, d in g.edges(data=True):
        src, dst = ex.states[int(a[1:])], ex.states[int(b[1:])]
        assert (d["action"], dst) in [(str(label), u) for _, label, u in model.successors(src)[0]]


def test_the_counterexample_path_is_marked():
    model = Peterson(broken=True)
    ex = _explore(model)
    v = ex.violations["mutual-exclusion"]
    g = state_graph(model, ex)
    on_path = [n for n, d in g.nodes(data=True) if d["counterexample"]]
    bad = [n for n, d in g.nodes(data=True) if d["violates"]]
    assert bad == [f"s{v.state}"]
    assert properties_of(model)[0].check(model, ex.states[v.state])
    path = nx.shortest_path(g.subgraph(on_path), "s0", bad[0])
    assert sorted(path) == sorted(on_path) and len(path) - 1 == v.depth
    marked = [(a, b) for a, b, d in g.edges(data=True) if d["counterexample"]]
    assert sorted(marked) == sorted(pairwise(path))


def test_graph_format_comes_from_the_extension():
    assert graph_format("x.graphml") == "graphml" and graph_format("a/B.DOT") == "dot"
    for bad in ("x.png", "x", "x.graphml.txt"):
        with pytest.raises(GraphError):
            graph_format(bad)


MUTATED = (
    "--cores", "1", "--workload", "syscall-heavy", "--mutation", "exitsyscall-drops-g",
    "--depth", "11", "--quiet",
)  # fmt: skip


def test_graphml_from_a_failing_run(tmp_path):
    out = tmp_path / "g.graphml"
    code, text, err = run_cli(*MUTATED, "--json", "--out", str(tmp_path), "--graph", str(out))
    assert code == 1, err
    summary = json.loads(text)
    g = nx.read_graphml(out)
    assert g.number_of_nodes() == summary["result"]["states"]
    assert g.number_of_edges() == summary["result"]["transitions"]
    assert summary["graph"] == {"file": str(out), "nodes": len(g), "edges": g.number_of_edges()}
    failed = next(p for p in summary["properties"] if p["verdict"] == "fail")
    marked = [(a, b, d) for a, b, d in g.edges(data=True) if d["counterexample"]]
    assert len(marked) == failed["depth"]
    assert {d["counterexample"] for _, _, d in marked} == {failed["id"]}
    assert [n for n, d in g.nodes(data=True) if d["violates"]] != []
    assert json.loads(g.graph["config"])["mutation"] == "exitsyscall-drops-g"


def test_dot_from_a_failing_run(tmp_path):
    out = tmp_path / "g.dot"
    code, text, err = run_cli(*MUTATED, "--out", str(tmp_path), "--graph", str(out))
    assert code == 1, err
    dot = out.read_text()
    m = next(line for line in text.splitlines() if line.startswith("graph "))
    nodes, edges = (int(x.replace(",", "")) for x in m.split()[1:4:2])
    assert dot.startswith('digraph "gmpcheck gmp" {') and dot.rstrip().endswith("}")
    assert sum(1 for line in dot.splitlines() if " -> " in line) == edges
    red = [line for line in dot.splitlines() if " -> " in line and "penwidth=2" in line]
    trace = json.loads(next(tmp_path.glob("*.itf.json")).read_text())
    assert len(red) == len(trace["states"]) - 1
    if shutil.which("dot"):  # Graphviz, when installed, reads it
        done = subprocess.run(["dot", "-Tsvg", str(out)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stderr, done.stderr
    assert nodes == sum(
        1 for line in dot.splitlines() if line.startswith("  s") and "->" not in line
    )


def test_a_bad_graph_name_is_refused_before_any_work(tmp_path):
    code, out, err = run_cli("--graph", str(tmp_path / "g.png"), "--out", str(tmp_path), "--quiet")
    assert code == 2 and out == ""
    assert (
        err.strip() == f"error: --graph {tmp_path / 'g.png'}: the file must end in .graphml or .dot"
    )
    assert list(tmp_path.iterdir()) == []


def test_over_the_limit_nothing_is_written(tmp_path):
    out = tmp_path / "g.graphml"
    code, text, err = run_cli(
        "--cores", "4", "--no-symmetry", "--workers", "1", "--quiet",
        "--graph", str(out), "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 2 and text == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"more than {GRAPH_MAX_STATES:,} states" in err
    assert list(tmp_path.iterdir()) == []


def test_the_limit_is_stated_in_help():
    _, out, _ = run_cli("check", "--help")
    assert "--graph" in out and f"{GRAPH_MAX_STATES:,}" in out


def test_to_dot_quotes_what_it_must():
    g = nx.DiGraph(model='a"b')
    g.add_node("s0", initial=True, counterexample="", violates="")
    g.add_node("s1", initial=False, counterexample="", violates="")
    g.add_edge("s0", "s1", action='x("y")\\', counterexample="")
    dot = to_dot(g)
    assert 'digraph "gmpcheck a\\"b" {' in dot
    assert 'action="x(\\"y\\")\\\\"' in dot


def test_the_graph_does_not_depend_on_workers_or_hash_seed(tmp_path):
    files = []
    for workers, seed in (("1", "0"), ("2", "123")):
        out = tmp_path / f"g{workers}.graphml"
        code, _, err = run_cli(
            "--cores", "2", "--workload", "spawn-burst", "--depth", "9", "--quiet",
            "--workers", workers, "--graph", str(out), "--out", str(tmp_path),
            env={"PYTHONHASHSEED": seed},
        )  # fmt: skip
        assert code == 0, err  # safety holds to depth 9; liveness is undecided (not a failure)
        files.append(out.read_bytes())
    assert files[0] == files[1]


def test_the_compiled_kernel_exports_the_graph_the_python_steps_do(tmp_path):
    """The compiled search's states are read by index up to their number, never
    past it (an export used to iterate past the engine's buffer and crash)."""
    counts = {}
    for kernel in ("python", "compiled"):
        out = tmp_path / f"{kernel}.dot"
        args = ("--cores", "2", "--depth", "4", "--quiet", "--kernel", kernel, "--graph", str(out))
        code, text, err = run_cli(*args, "--out", str(tmp_path))
        assert code == 0, (kernel, code, err)
        assert out.read_text().rstrip().endswith("}")
        line = next(line for line in text.splitlines() if line.startswith("graph "))
        counts[kernel] = line.split()[1:5]  # nodes and edges, not the file name
    assert counts["python"] == counts["compiled"]


def test_the_compiled_kernel_writes_graphml_the_python_steps_do(tmp_path):
    """GraphML takes Python values only: the compiled search keeps its
    parents in a numpy array, whose comparisons are numpy booleans (an
    export of its graph used to stop with an internal error, exit 70)."""
    graphs = {}
    for kernel in ("python", "compiled"):
        out = tmp_path / f"{kernel}.graphml"
        args = ("--cores", "2", "--depth", "6", "--quiet", "--kernel", kernel, "--graph", str(out))
        code, _, err = run_cli(*args, "--out", str(tmp_path))
        assert code == 0, (kernel, code, err)
        graphs[kernel] = nx.read_graphml(out)
    py, cc = graphs["python"], graphs["compiled"]
    assert dict(py.nodes(data=True)) == dict(cc.nodes(data=True))
    assert {(a, b): d for a, b, d in py.edges(data=True)} == {
        (a, b): d for a, b, d in cc.edges(data=True)
    }
    assert sum(d["initial"] for _, d in cc.nodes(data=True)) >= 1
