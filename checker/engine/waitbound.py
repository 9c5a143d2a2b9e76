"""The global-queue wait bound of checker/smt/starvation.py, computed by the
explicit engine's means instead of z3: the most `execute` steps taken while
goroutine g stays, without a break, in the global run queue (sched.runq),
over every run of at most `depth` steps from the initial states.

It is a property of paths, not of states: the count belongs to a stretch of
consecutive steps (g queued before and after each of them), so no single
state says it, and the explicit engine's breadth-first search, which keeps
one visit per state, cannot state it. It is computed here by a dynamic
programme over the model's own successors (the ones explore.py expands),
without symmetry reduction, exact:

    cur[d][u] = the most executes in the open stretch at the end of a run of
                d steps ending in u (0 if its last step is not in a stretch)

A step t -> u continues the stretch if g is queued in t and in u (cur grows
by one if the step is an execute), and otherwise ends it (cur is 0). The
count only grows along a stretch, so the largest cur at (d, u) is all a
longer run needs from the runs ending there; and every stretch's count is
some run's cur at the stretch's last step, so the bound is the largest cur
over every depth up to `depth` and every state. The run reaching it is kept
(one back link per state and depth) and returned as the witness.

z3 asks for runs of exactly `depth` steps: the two bounds are the same when
no run stops short of `depth` (`dead_ends` is 0). Steps a model bound cut
off (`truncated`) are in neither engine's runs.

`unbounded_global_wait` answers the same over runs of every length, where
the reachable space is finite: by the strongly connected components of the
graph of stretch steps. `python -m checker.waitbound DEPTH...` prints both
for the configuration docs/smt.md reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import networkx as nx

from checker.engine.trace import INIT, Step
from model.action import Action
from model.state import q_items


class _Steps:
    """The model's successors and the predicate `g is in sched.runq`, each
    computed once per state."""

    def __init__(self, model, g: int):
        self.model, self.g = model, g
        self._queued: dict[bytes, bool] = {}
        self._succ: dict[bytes, list[tuple[int, Action, bytes]]] = {}
        self.dead_ends = self.truncated = 0

    def queued(self, t: bytes) -> bool:
        q = self._queued.get(t)
        if q is None:
            L = self.model.L
            q = self._queued[t] = self.g in q_items(t, L.grunq, L.nG)
        return q

    def successors(self, t: bytes) -> list[tuple[int, Action, bytes]]:
        succ = self._succ.get(t)
        if succ is None:
            succ, cut = self.model.successors(t)
            self._succ[t] = succ
            self.truncated += cut
            self.dead_ends += not succ
        return succ


@dataclass
class ExplicitWaitBound:
    executes: int  # the most `execute` steps while g waits in the global queue
    depth: int  # in runs of at most this many steps
    witness: list[Step]  # a run reaching it (initial state first)
    states: int  # distinct states met
    dead_ends: int  # states before `depth` with no step (runs that stop short)
    truncated: int  # states where a model bound cut a step off
    elapsed_s: float


def explicit_global_wait(model, g: int, depth: int) -> ExplicitWaitBound:
    """The bound by the dynamic programme above; `model` built without
    symmetry (G ids must stay those of the initial state)."""
    start = time.perf_counter()
    steps = _Steps(model, g)
    queued, successors = steps.queued, steps.successors
    layer: dict[bytes, int] = {}
    for s in model.initial_states():
        layer.setdefault(s, 0)
    # back[d][u]: the step into u that gave cur[d][u] (source, actor, label).
    back: list[dict[bytes, tuple[bytes, int, Action]]] = [{}]
    seen = set(layer)
    best, best_d, best_u = 0, 0, next(iter(layer))
    for d in range(1, depth + 1):
        nxt: dict[bytes, int] = {}
        links: dict[bytes, tuple[bytes, int, Action]] = {}
        for t, cur in layer.items():
            inside = queued(t)
            for actor, label, u in successors(t):
                c = cur + label.calls("execute") if inside and queued(u) else 0
                if c > nxt.get(u, -1):
                    nxt[u] = c
                    links[u] = (t, actor, label)
                    if c > best:
                        best, best_d, best_u = c, d, u
        back.append(links)
        layer = nxt
        seen.update(layer)
    chain: list[Step] = []
    u = best_u
    for d in range(best_d, 0, -1):
        t, actor, label = back[d][u]
        chain.append(Step(actor, label, u))
        u = t
    witness = [Step(None, INIT, u), *reversed(chain)]
    return ExplicitWaitBound(
        best,
        depth,
        witness,
        len(seen),
        steps.dead_ends,
        steps.truncated,
        time.perf_counter() - start,
    )


@dataclass
class UnboundedWaitBound:
    executes: int | None  # the most over runs of any length; None: no bound
    states: int  # reachable states (all of them)
    dead_ends: int
    truncated: int
    elapsed_s: float


class TooManyStates(RuntimeError):
    """The reachable space is larger than the limit given."""


def unbounded_global_wait(model, g: int, max_states: int = 100_000) -> UnboundedWaitBound:
    """The same bound over runs of every length, on a model whose reachable
    space is finite (and at most `max_states` states, else TooManyStates).

    The stretch steps (g queued before and after) form a subgraph of the
    state graph. If an `execute` step lies on a cycle of that subgraph (both
    ends in one strongly connected component), a stretch can go round it as
    often as it likes: there is no bound. Otherwise the executes inside a
    component are none, and the bound is the heaviest path of the DAG of
    components, an execute step weighing one."""
    start = time.perf_counter()
    steps = _Steps(model, g)
    order: list[bytes] = []
    seen: set[bytes] = set()
    for s in model.initial_states():
        if s not in seen:
            seen.add(s)
            order.append(s)
    stretch = nx.DiGraph()
    i = 0
    while i < len(order):
        t = order[i]
        i += 1
        for _, label, u in steps.successors(t):
            if u not in seen:
                if len(seen) >= max_states:
                    raise TooManyStates(f"more than {max_states} reachable states")
                seen.add(u)
                order.append(u)
            if steps.queued(t) and steps.queued(u):
                w = int(label.calls("execute"))
                if not stretch.has_edge(t, u) or w > stretch[t][u]["w"]:
                    stretch.add_edge(t, u, w=w)
    comp = nx.condensation(stretch)
    of = comp.graph["mapping"]
    best: int | None = 0
    heaviest = dict.fromkeys(comp.nodes, 0)  # the heaviest path ending in each component
    for c in nx.topological_sort(comp):
        for t in comp.nodes[c]["members"]:
            for u, data in stretch.adj[t].items():
                if of[u] == c:
                    if data["w"]:
                        best = None  # an execute on a cycle of stretch steps
                    continue
                heaviest[of[u]] = max(heaviest[of[u]], heaviest[c] + data["w"])
        if best is not None:
            best = max(best, heaviest[c])
    return UnboundedWaitBound(
        best, len(seen), steps.dead_ends, steps.truncated, time.perf_counter() - start
    )
