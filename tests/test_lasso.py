"""Lassos from fair cycles, on generated graphs (hypothesis).

A small model whose states are the nodes of a generated graph and whose
steps are its edges, each taken by an actor (a weak fairness group each)
and some counting for a strong group too; parallel edges (one pair of
states, several actors) and self-loops that several actors take are the
cases where a cycle of states is not yet a fair run: the concrete cycle has
to take the right step on each edge, and a self-loop once per actor that
fairness needs. Every fair strongly connected set of stuck states must give
a lasso that the independent check below accepts, and a verdict of pass
only when no such set exists (an exhaustive oracle over subsets of states);
a lasso that cannot be built is said in words, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.engine.explore import explore
from checker.engine.liveness import check_property
from specs.property import LIVENESS, Property

NA = 3  # actors: weak groups 0..NA-1
STRONG = 1 << NA  # one strong group, on the edges marked so and the states that enable it
WEAK_ALL = (1 << NA) - 1


@dataclass(frozen=True)
class Edge:
    src: int
    dst: int
    actor: int
    strong: bool


class GraphModel:
    """The explicit engine's model protocol (checker/engine/protocol.py) over a graph."""

    def __init__(self, n: int, edges: list[Edge], stuck: set[int], strong_on: set[int]):
        self.n, self.edges, self.stuck_nodes, self.strong_on = n, edges, stuck, strong_on
        self.__dict__["_atom_predicates"] = [(0, lambda t: t[0] in self.stuck_nodes)]

    def initial_states(self):
        return [bytes((0,))]

    def successors(self, t):
        out = []
        for e in self.edges:
            if e.src == t[0]:
                label = f"e{e.src}-{e.dst}-a{e.actor}" + ("-s" if e.strong else "")
                out.append((e.actor, label, bytes((e.dst,))))
        return out, False

    def canonical(self, t):
        return t

    def is_final(self, t):
        return False

    def properties(self):
        return [PROP]

    def view(self, t):
        return {"node": t[0]}

    def describe(self):
        return {"graph": self.n}

    def model_hash(self):
        return "graph"

    def actor_names(self):
        return [f"A{a}" for a in range(NA)]

    def fairness_groups(self):
        return [(f"A{a}", "m", "weak") for a in range(NA)] + [("S", "strong", "strong")]

    def edge_groups(self, actor, label):
        return (1 << actor) | (STRONG if label.endswith("-s") else 0)

    def state_groups(self, t):
        return STRONG if t[0] in self.strong_on else 0


PROP = Property(
    "graph-progress",
    LIVENESS,
    "a stuck node is eventually left for a node that is not stuck",
    stuck=lambda model: [("stuck", lambda a: bool(a & 1))],
    fairness=("m", "strong"),
)


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 6))
    edges = []
    for v in range(1, n):  # every node reachable from node 0
        edges.append(Edge(draw(st.integers(0, v - 1)), v, draw(st.integers(0, NA - 1)), False))
    extra = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, NA - 1), st.booleans()
            ),
            max_size=12,
        )
    )
    for src, dst, actor, strong in extra:
        e = Edge(src, dst, actor, strong)
        if e not in edges:
            edges.append(e)
    # self-loops taken by several actors: the case of the crash
    for v in draw(st.lists(st.integers(0, n - 1), max_size=3)):
        for a in draw(st.sets(st.integers(0, NA - 1), min_size=2)):
            e = Edge(v, v, a, False)
            if e not in edges:
                edges.append(e)
    stuck = draw(st.sets(st.integers(0, n - 1)))
    strong_on = draw(st.sets(st.integers(0, n - 1)))
    return GraphModel(n, edges, stuck, strong_on)


def enabled(model: GraphModel, v: int) -> int:
    en = model.state_groups(bytes((v,)))
    for actor, label, _ in model.successors(bytes((v,)))[0]:
        en |= model.edge_groups(actor, label)
    return en


def oracle(model: GraphModel) -> bool:
    """Whether a fair run stays among stuck nodes for ever: a stuck node
    with no fair group enabled, or a set of stuck nodes, strongly connected
    by its own edges, on which every weak group enabled all over and every
    strong group enabled somewhere is taken by an edge inside it. (Every
    subset of the nodes is tried: a closed walk visits some set, and taking
    every edge inside it takes the most groups.)"""
    fair = WEAK_ALL | STRONG
    stuck = sorted(model.stuck_nodes)
    for v in stuck:
        if not enabled(model, v) & fair:
            return True
    for mask in range(1, 1 << len(stuck)):
        nodes = {v for i, v in enumerate(stuck) if mask >> i & 1}
        inner = [e for e in model.edges if e.src in nodes and e.dst in nodes]
        if not inner or not _strongly_connected(nodes, inner):
            continue
        taken = 0
        for e in inner:
            taken |= model.edge_groups(e.actor, "-s" if e.strong else "")
        always, sometimes = WEAK_ALL, 0
        for v in nodes:
            always &= enabled(model, v)
            sometimes |= enabled(model, v)
        if not (always & ~taken) and not (sometimes & STRONG & ~taken):
            return True
    return False


def _strongly_connected(nodes: set[int], edges: list[Edge]) -> bool:
    start = min(nodes)
    for forward in (True, False):
        seen, todo = {start}, [start]
        while todo:
            v = todo.pop()
            for e in edges:
                a, b = (e.src, e.dst) if forward else (e.dst, e.src)
                if a == v and b not in seen:
                    seen.add(b)
                    todo.append(b)
        if seen != nodes:
            return False
    return True


def check_lasso(model: GraphModel, steps, loop: int, back: str) -> None:
    """The lasso is a run of the model that ends in a fair cycle of stuck
    states: checked here again, without the checker's code."""
    assert steps[0].state == bytes((0,))
    for prev, step in zip(steps, steps[1:], strict=False):
        assert (step.actor, step.label, step.state) in model.successors(prev.state)[0]
    cycle = steps[loop:]
    assert all(s.state[0] in model.stuck_nodes for s in cycle)
    if back.startswith("(stutters"):
        assert not enabled(model, steps[-1].state[0]) & (WEAK_ALL | STRONG)
        return
    closing = [
        (a, lab, u)
        for a, lab, u in model.successors(steps[-1].state)[0]
        if lab == back and u == steps[loop].state
    ]
    assert closing, "the closing step returns to the loop state"
    taken = model.edge_groups(closing[0][0], closing[0][1])
    for s in cycle[1:]:
        taken |= model.edge_groups(s.actor, s.label)
    always, sometimes = WEAK_ALL, 0
    for s in cycle:
        always &= enabled(model, s.state[0])
        sometimes |= enabled(model, s.state[0])
    assert not always & ~taken, "a weak group enabled all along the cycle is never taken"
    assert not sometimes & STRONG & ~taken, "a strong group enabled on the cycle is never taken"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_every_fair_cycle_gives_a_lasso_the_recheck_accepts(model):
    ex = explore(model, [], depth=0, graph=True)
    v = check_property(model, ex, PROP, PROP.fairness)
    want = oracle(model)
    assert v.verdict in ("pass", "fail", "inconclusive"), v.verdict
    if v.verdict == "inconclusive":  # only with words saying why
        assert v.reason and want
        return
    assert (v.verdict == "fail") == want, (v.verdict, v.message)
    if v.verdict == "fail":
        check_lasso(model, v.steps, v.loop, v.loop_action)


def test_a_state_two_actors_leave_by_self_loops():
    """The crash of issue 14: the cycle passes through a state that A0 and
    A1 each leave by a self-loop; both are enabled all along, so the concrete
    cycle must take both self-loops, not the first one that matches."""
    edges = [Edge(0, 1, 0, False), Edge(1, 1, 0, False), Edge(1, 1, 1, False)]
    edges += [Edge(1, 2, 0, False), Edge(2, 1, 2, False)]  # A0 may also leave for node 2
    model = GraphModel(3, edges, {1}, set())
    ex = explore(model, [], depth=0, graph=True)
    v = check_property(model, ex, PROP, PROP.fairness)
    assert v.verdict == "fail", v.reason
    check_lasso(model, v.steps, v.loop, v.loop_action)
    cycle = [s.label for s in v.steps[v.loop + 1 :]] + [v.loop_action]
    assert {"e1-1-a0", "e1-1-a1"} <= set(cycle)


def test_parallel_edges_are_taken_once_per_group_the_cycle_needs():
    """Two actors step from node 1 to node 2, each on its own edge, and one
    comes back: the cycle goes round twice, once by each of them."""
    edges = [Edge(0, 1, 0, False), Edge(1, 2, 0, False), Edge(1, 2, 1, False)]
    edges += [Edge(2, 1, 2, False)]
    model = GraphModel(3, edges, {1, 2}, set())
    ex = explore(model, [], depth=0, graph=True)
    v = check_property(model, ex, PROP, PROP.fairness)
    assert v.verdict == "fail"
    check_lasso(model, v.steps, v.loop, v.loop_action)
