"""Liveness under fairness on the explored state graph.

A liveness property (specs/liveness.py) names, per instance, the "stuck"
states: those in which its obligation is not met (G3 runnable, for
"G3 eventually runs"). It is violated when a fair cycle of stuck states is
reachable, or a stuck state in which nothing can happen at all.

The graph is held in arrays (an edge list sorted by source; per state its
atoms, enabled groups and flags) and decomposed by scipy's strongly
connected components, restricted to the stuck states whose successors
were computed; in each strongly connected component, weak
fairness is checked the classic way: every fairness group enabled in all of
the component's states must have an edge inside it (a group that is always
enabled but can only leave the component rules out every fair cycle in
it). From a fair component a lasso is built: the shortest prefix from the
initial state (the breadth-first tree) and a cycle through the component
that takes a step of every group enabled all along it. The lasso is then
re-executed edge by edge through the model, closed (a concrete cycle
returns to the concrete state it left), and its fairness and stuckness are
checked again on the concrete states: a set of states is not a cycle
(checker/engine/lasso.py; the fairness groups as bit masks are
checker/engine/fairness.py's).

Depth bounds: a cycle found among expanded states is real, so FAIL is
sound at any depth; with states left unexpanded (depth bound, model
bounds), no fair cycle means INCONCLUSIVE, never PASS.

Symmetry is off when liveness is checked: the properties name G's and the
fairness names Ms, and a quotient by renaming would lose track of both.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from checker.engine.explore import Exploration
from checker.engine.fairness import fairness_mask
from checker.engine.lasso import Lasso, concretize
from checker.engine.trace import Step, TraceError
from checker.verdict import Verdict
from specs.property import Property


@dataclass
class LivenessVerdict:
    property: str
    verdict: Verdict  # PASS, FAIL, INCONCLUSIVE or NOT_APPLICABLE
    fairness: tuple[str, ...]
    instance: str = ""
    message: str = ""
    lasso: Lasso | None = None
    steps: list[Step] = field(default_factory=list)
    loop: int | None = None
    loop_action: str = ""
    expanded: int = 0
    states: int = 0
    reason: str = ""


def check_property(
    model: Any, ex: Exploration, prop: Property, assumptions: tuple[str, ...]
) -> LivenessVerdict:
    base = LivenessVerdict(
        prop.id,
        Verdict.PASS,
        assumptions,
        expanded=int(np.count_nonzero(np.asarray(ex.is_expanded))),
        states=len(ex.states),
    )
    if prop.applies is not None:
        why = prop.applies(model)
        if why:
            base.verdict, base.reason = Verdict.NOT_APPLICABLE, why
            return base
    fair = fairness_mask(model, assumptions)
    best: tuple[int, int, str, Lasso] | None = None
    for instance, stuck in prop.obligations(model):
        try:
            lasso = find_lasso(ex, stuck, fair)
        except TraceError as e:
            base.verdict = Verdict.INCONCLUSIVE
            base.reason = (
                f"{instance}: a fair component was found among the explored states, but no "
                f"cycle through it could be built: {e}"
            )
            return base
        if lasso is None:
            continue
        entry = lasso.cycle[0]
        key = (len(lasso.prefix), entry)
        if best is None or key < best[:2]:
            best = (*key, instance, lasso)
    if best is None:
        if not ex.complete:
            base.verdict = Verdict.INCONCLUSIVE
            base.reason = (
                f"no fair cycle among the {base.expanded:,} of {base.states:,} states whose "
                "successors were explored; the rest were not"
            )
        return base
    _, _, instance, lasso = best
    try:
        steps, loop, loop_action = concretize(model, ex, lasso, prop, instance, fair)
    except TraceError as e:
        # A fair component is there, but no lasso through it passed the
        # re-check: say so, never claim a counterexample that was not run.
        base.verdict, base.instance, base.lasso = Verdict.INCONCLUSIVE, instance, lasso
        base.reason = (
            f"a fair cycle of {instance} was found among the explored states, but its lasso "
            f"could not be re-executed and checked step by step: {e}"
        )
        return base
    base.verdict, base.instance, base.lasso = Verdict.FAIL, instance, lasso
    base.steps, base.loop, base.loop_action = steps, loop, loop_action
    what = {
        "progress": "some G is runnable and no G ever runs again",
        "no-starvation": f"{instance} stays runnable and never runs",
        "eventual-parallelism": "a runnable G and an idle P persist together forever",
        "termination": "the goroutines never all exit",
    }.get(prop.id, f"{instance} never meets {prop.id}")
    if lasso.stutter:
        base.message = f"{what}: it stops in a state where no fair step is enabled"
    else:
        base.message = f"{what}, on a fair cycle of {len(steps) - loop} steps"
    return base


class StateGraph:
    """The explored graph as arrays: edges (src, dst, fairness groups), sorted
    by source, and per state its atoms, the groups enabled in it, whether its
    successors were computed and whether it is an end, and its depth."""

    def __init__(self, ex: Exploration):
        n = len(ex.states)
        self.n = n
        self.src = np.asarray(ex.edge_src, dtype=np.uint32)
        self.dst = np.asarray(ex.edge_dst, dtype=np.uint32)
        self.groups = np.asarray(ex.edge_groups, dtype=np.uint64)
        self.enabled = np.asarray(ex.enabled, dtype=np.uint64)[:n]
        self.atoms = np.asarray(ex.atoms, dtype=np.uint64)[:n]
        self.expanded = np.asarray(ex.is_expanded, dtype=np.uint8)[:n].astype(bool)
        self.final = np.asarray(ex.is_final, dtype=np.uint8)[:n].astype(bool)
        starts = np.asarray(ex.level_start, dtype=np.int64)
        self.depth = np.searchsorted(starts, np.arange(n), side="right") - 1
        self._distinct: tuple[np.ndarray, np.ndarray] | None = None

    def stuck(self, stuck) -> np.ndarray:
        """The expanded states whose atoms the predicate calls stuck (asked
        once per distinct set of atoms: they are few)."""
        if self._distinct is None:
            self._distinct = np.unique(self.atoms, return_inverse=True)
        values, inverse = self._distinct
        hit = np.array([bool(stuck(int(a))) for a in values.tolist()], dtype=bool)
        return hit[inverse] & self.expanded

    def first(self, nodes: np.ndarray) -> int:
        """Of the states in `nodes` (ids), the shallowest, lowest-numbered one."""
        order = np.lexsort((nodes, self.depth[nodes]))
        return int(nodes[order[0]])


def _graph(ex: Exploration) -> StateGraph:
    g = getattr(ex, "_state_graph", None)
    if g is None:
        g = StateGraph(ex)
        ex._state_graph = g  # type: ignore[attr-defined]
    return g


def find_lasso(ex: Exploration, stuck, fair: tuple[int, int]) -> Lasso | None:
    """The fair component of stuck states nearest the initial state, as a lasso."""
    weak, strong = fair
    g = _graph(ex)
    nodes = g.stuck(stuck)
    if not nodes.any():
        return None
    candidates: list[tuple[int, int, Lasso | np.ndarray]] = []
    # Stuttering for ever is a run too, as long as no fair group is enabled:
    # a state where only unfair steps remain (a blocked system call without
    # the syscall assumption; or nothing at all) is one.
    stutter = np.flatnonzero(nodes & ((g.enabled & np.uint64(weak | strong)) == 0) & ~g.final)
    if len(stutter):
        i = g.first(stutter)
        candidates.append((int(g.depth[i]), i, Lasso(ex.path_to(i), [i], True)))
    for comp in fair_components(g, nodes, weak, strong):
        entry = g.first(comp)
        candidates.append((int(g.depth[entry]), entry, comp))
    if not candidates:
        return None
    _, entry, best = min(candidates, key=lambda c: (c[0], c[1]))
    if isinstance(best, Lasso):
        return best
    cycle = fair_cycle(g, best, entry, weak, strong)
    return Lasso(ex.path_to(entry), cycle)


def fair_components(g: StateGraph, nodes: np.ndarray, weak: int, strong: int) -> list[np.ndarray]:
    """The parts of the graph on `nodes` that hold a fair cycle (Emerson-Lei):
    in each strongly connected component, a weak group enabled all over but
    never taken inside rules the component out; a strong group enabled
    somewhere but never taken inside rules out the states where it is
    enabled, and what remains is split into components again."""
    out: list[np.ndarray] = []
    alive = nodes.copy()
    import scipy.sparse as sp  # here: a second of start-up, for this analysis only
    from scipy.sparse.csgraph import connected_components

    weak_, strong_ = np.uint64(weak), np.uint64(strong)
    while alive.any():
        keep = alive[g.src] & alive[g.dst]
        src = g.src[keep]
        dst = g.dst[keep]
        del keep
        # The edges are sorted by source: the sparse matrix is built in
        # place, 32-bit indices, one byte of data per edge.
        indptr = np.zeros(g.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=g.n), out=indptr[1:])
        index_t = np.int32 if len(src) < 2**31 and g.n < 2**31 else np.int64
        m = sp.csr_matrix(
            (np.ones(len(src), dtype=np.int8), dst.astype(index_t), indptr.astype(index_t)),
            shape=(g.n, g.n),
        )
        ncomp, label = connected_components(m, directed=True, connection="strong")
        del m, indptr
        lab_src = label[src]
        inside = lab_src == label[dst]
        grp = g.groups[alive[g.src] & alive[g.dst]][inside]
        lab_in = lab_src[inside]
        loops = lab_in[src[inside] == dst[inside]]
        del src, dst, lab_src, inside
        ids = np.flatnonzero(alive)
        lab = label[ids]
        size = np.bincount(lab, minlength=ncomp)
        cyclic = size > 1
        cyclic[loops] = True
        taken = np.zeros(ncomp, dtype=np.uint64)
        np.bitwise_or.at(taken, lab_in, grp)
        del grp, lab_in
        always = np.full(ncomp, weak_, dtype=np.uint64)
        np.bitwise_and.at(always, lab, g.enabled[ids])
        sometimes = np.zeros(ncomp, dtype=np.uint64)
        np.bitwise_or.at(sometimes, lab, g.enabled[ids])
        ok = cyclic & ((always & ~taken) == 0) & (size > 0)
        bad = sometimes & strong_ & ~taken
        fair = ok & (bad == 0)
        if fair.any():
            order = np.argsort(lab, kind="stable")
            sorted_lab = lab[order]
            which = np.flatnonzero(fair)
            lo = np.searchsorted(sorted_lab, which)
            hi = np.searchsorted(sorted_lab, which, side="right")
            out += [ids[order[a:b]] for a, b in zip(lo, hi, strict=True)]
        split = ok & (bad != 0)
        if not split.any():
            break
        alive = np.zeros(g.n, dtype=bool)
        stay = split[lab] & ((g.enabled[ids] & bad[lab]) == 0)
        alive[ids[stay]] = True
    return out


def fair_cycle(g: StateGraph, comp: np.ndarray, entry: int, weak: int, strong: int) -> list[int]:
    """A cycle in `comp` from `entry` (as its states, entry first, the edge
    from the last back to entry closing it) that takes a step of every group
    with an edge inside comp, and on which no weak group is enabled all along
    without a step."""
    members = np.zeros(g.n, dtype=bool)
    members[comp] = True
    inside_e = members[g.src] & members[g.dst]
    adj: dict[int, dict[int, int]] = {}
    for a, b, grp in zip(
        g.src[inside_e].tolist(), g.dst[inside_e].tolist(), g.groups[inside_e].tolist(), strict=True
    ):
        row = adj.setdefault(a, {})
        row[b] = row.get(b, 0) | grp
    succ = {a: sorted(row) for a, row in adj.items()}
    enabled = g.enabled

    def groups(e: tuple[int, int]) -> int:
        return adj[e[0]][e[1]]

    def path(frm: int, goal) -> list[int]:
        """The states after frm on a shortest path inside comp to a goal state."""
        prev: dict[int, int] = {frm: frm}
        todo = deque([frm])
        while todo:
            a = todo.popleft()
            for b in succ.get(a, ()):
                if goal(b):
                    out = [b]
                    while a != frm:
                        out.append(a)
                        a = prev[a]
                    return out[::-1]
                if b not in prev:
                    prev[b] = a
                    todo.append(b)
        raise TraceError("no path inside a strongly connected component")

    def closed(cycle: list[int]) -> list[int]:
        if entry in adj.get(cycle[-1], ()):
            return cycle
        return cycle + path(cycle[-1], lambda x: x == entry)[:-1]

    inside = [(a, b) for a in sorted(succ) for b in succ[a]]
    bits = 0
    for e in inside:
        bits |= groups(e)
    bits &= weak | strong
    cycle = [entry]
    while bits:  # take a step of every group that has one inside comp
        bit = bits & -bits
        a, b = next(e for e in inside if groups(e) & bit)
        if cycle[-1] != a:
            cycle += path(cycle[-1], lambda x, a=a: x == a)
        cycle.append(b)
        for e in zip(cycle, cycle[1:], strict=False):
            bits &= ~groups(e)
        bits &= ~bit
    if cycle[-1] == entry and len(cycle) > 1:
        cycle.pop()
    cycle = closed(cycle)
    for _ in range(64):
        on_cycle = weak
        for i in cycle:
            on_cycle &= int(enabled[i])
        taken = 0
        for e in zip(cycle, cycle[1:] + [entry], strict=True):
            taken |= groups(e)
        missing = on_cycle & ~taken
        if not missing:
            return cycle
        # That group cannot step inside comp here: pass by a state where it is off.
        bit = missing & -missing
        cycle += path(cycle[-1], lambda x, bit=bit: not int(enabled[x]) & bit)
        if cycle[-1] == entry:
            cycle.pop()
        cycle = closed(cycle)
    raise TraceError("could not build a fair cycle in a fair component")
