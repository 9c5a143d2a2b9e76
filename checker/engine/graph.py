"""`--graph FILE`: the explored state graph as GraphML or DOT.

The engine keeps only the canonical states and a parent link each
(checker/engine/explore.py), so the edges are recovered after the run by expanding
the stored states once more with the model (`successors`, then the search's
canonical form, Exploration.canonical)
and looking the results up among the stored states. Only states the search
expanded get outgoing edges; a successor the search never stored (beyond
--max-states) is left out. One edge per pair of states, as the engine counts
transitions: its `action` is the first step that leads there, `actions` how
many do. Each counterexample's path is marked on its nodes and edges.

Graphs are for looking at, so runs are limited to GRAPH_MAX_STATES states:
the CLI stops the search one state past it and writes nothing.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx

from checker.engine.explore import Exploration
from checker.files import write_atomically

GRAPH_MAX_STATES = 20_000
FORMATS = {".graphml": "graphml", ".dot": "dot"}


class GraphError(ValueError):
    """A --graph request that cannot be met (a usage error, exit 2)."""


def graph_format(path: str | Path) -> str:
    """graphml or dot, from the file's extension."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise GraphError(f"--graph {path}: the file must end in .graphml or .dot")
    return FORMATS[ext]


def check_size(ex: Exploration) -> None:
    if len(ex.states) > GRAPH_MAX_STATES:
        raise GraphError(
            f"--graph: the search reached more than {GRAPH_MAX_STATES:,} states, the limit for "
            "a graph; nothing was written (lower --depth or --cores, or set --max-states)"
        )


def _node(i: int) -> str:
    return f"s{i}"


def state_graph(model: Any, ex: Exploration) -> nx.DiGraph:
    """The explored graph, nodes `s<index>` in the engine's numbering."""
    index = {c: i for i, c in enumerate(ex.states)}
    names = model.actor_names()
    g = nx.DiGraph()
    g.graph.update(
        model=getattr(model, "name", type(model).__name__),
        model_hash=model.model_hash(),
        config=json.dumps(model.describe(), sort_keys=True),
        stopped=ex.stopped,
        depth_reached=int(ex.depth_reached),
        violated=",".join(sorted(ex.violations)),
    )
    level = 0
    for i in range(len(ex.states)):
        while level + 1 < len(ex.level_start) and ex.level_start[level + 1] <= i:
            level += 1
        g.add_node(
            _node(i),
            depth=level,
            # bool(): the compiled search keeps its parents in a numpy
            # array, whose comparisons GraphML cannot write.
            initial=bool(ex.parent[i] < 0),
            expanded=bool(i < ex.expanded),
            counterexample="",
            violates="",
        )
    # States are expanded in index order, so the expanded ones are a prefix.
    for i in range(ex.expanded):
        succ, _truncated = model.successors(ex.states[i])
        for actor, label, u in succ:
            j = index.get(ex.canonical(u))
            if j is None:
                continue  # the search stopped before storing it
            a, b = _node(i), _node(j)
            if g.has_edge(a, b):
                g.edges[a, b]["actions"] += 1
            else:
                g.add_edge(
                    a, b, action=str(label), actor=names[actor], actions=1, counterexample=""
                )
    for pid in sorted(ex.violations):
        v = ex.violations[pid]
        path = ex.path_to(v.state)
        if v.next_state is not None and v.next_state in index:
            path.append(index[v.next_state])  # an action property: the violating step
        nodes = [_node(i) for i in path]
        for n in nodes:
            g.nodes[n]["counterexample"] = _add(g.nodes[n]["counterexample"], pid)
        for a, b in pairwise(nodes):
            if g.has_edge(a, b):
                g.edges[a, b]["counterexample"] = _add(g.edges[a, b]["counterexample"], pid)
        g.nodes[nodes[-1]]["violates"] = _add(g.nodes[nodes[-1]]["violates"], pid)
    return g


def _add(csv: str, item: str) -> str:
    return f"{csv},{item}" if csv else item


def _dot_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_attrs(attrs: dict) -> str:
    return ", ".join(f"{k}={_dot_str(v)}" for k, v in attrs.items())


def to_dot(g: nx.DiGraph) -> str:
    """Graphviz DOT; counterexample paths in red with their actions as
    labels, the violating states as red double octagons, initial states as
    double circles. The GraphML attributes are kept as DOT attributes."""
    out = [f"digraph {_dot_str('gmpcheck ' + g.graph['model'])} {{"]
    out.append(f"  graph [{_dot_attrs(g.graph)}];")
    out.append('  node [shape=circle, width=0.18, label="", style=filled, fillcolor="#d0d7de"];')
    out.append('  edge [color="#8c959f", arrowsize=0.5];')
    for n, d in g.nodes(data=True):
        attrs = dict(d)
        if d["initial"]:
            attrs.update(shape="doublecircle", fillcolor="#0969da")
        if d["counterexample"]:
            attrs.update(fillcolor="#cf222e")
        if d["violates"]:
            attrs.update(shape="doubleoctagon", label=d["violates"], fontcolor="white")
        out.append(f"  {n} [{_dot_attrs(attrs)}];")
    for a, b, d in g.edges(data=True):
        attrs = {**d, "tooltip": d["action"]}
        if d["counterexample"]:
            attrs.update(color="#cf222e", penwidth=2, label=d["action"], fontcolor="#cf222e")
        out.append(f"  {a} -> {b} [{_dot_attrs(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def write_graph(model: Any, ex: Exploration, path: str | Path) -> nx.DiGraph:
    """Check the size, build the graph and write it atomically."""
    fmt = graph_format(path)
    check_size(ex)
    g = state_graph(model, ex)
    text = to_dot(g) if fmt == "dot" else "\n".join(nx.generate_graphml(g)) + "\n"
    write_atomically(Path(path), text)
    return g
