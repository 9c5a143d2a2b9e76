"""A worst-case bound the explicit engine cannot state directly: how many
times a P starts running a goroutine (`execute`) while goroutine g waits,
without a break, in the global run queue — within runs of at most `depth`
steps. findRunnable's `schedtick % period` look at the global queue is what
bounds it; without that look (the `no-schedtick-check` mutation) the count
only grows with the depth.

Found by a search over N with one incremental solver: is there a run with a
window of steps during which g stays in the global queue and N of the steps
are `execute`? The largest satisfiable N is the bound at that depth; its
witness is replayed through the explicit model (bmc.replay), so the bound
is reached by a real run."""

from __future__ import annotations

from dataclasses import dataclass

import z3

from checker.engine.trace import Step
from checker.smt.bmc import replay
from checker.smt.relation import relation_for
from checker.smt.unroll import Unroller


@dataclass
class WaitBound:
    executes: int  # the most `execute` steps while g waits in the global queue
    depth: int  # in runs of at most this many steps
    capped: bool  # the search stopped at the cap: the bound may be higher
    witness: list[Step]


def max_global_wait(model, g: int, depth: int, cap: int = 64) -> WaitBound:
    rel = relation_for(model, [])
    u = Unroller(rel)
    L = model.L
    solver = z3.SolverFor("QF_BV")
    solver.add(u.init(model.initial_states()))
    for d in range(depth):
        solver.add(u.trans(d))

    def queued(d: int):
        x = u.state(d)
        return z3.Or([x[L.grunq + i] == g for i in range(L.nG)])

    execs = [i for i, c in enumerate(rel.steps) if c.action and c.action.calls("execute")]
    # The window: started (monotone) and not yet ended (monotone); inside it
    # g is in the global queue before and after every step.
    started = [z3.Bool(f"w_start_{d}") for d in range(depth)]
    ended = [z3.Bool(f"w_end_{d}") for d in range(depth)]
    counted = []
    for d in range(depth):
        if d:
            solver.add(z3.Implies(started[d - 1], started[d]))
            solver.add(z3.Implies(ended[d - 1], ended[d]))
        inside = z3.And(started[d], z3.Not(ended[d]))
        solver.add(z3.Implies(inside, z3.And(queued(d), queued(d + 1))))
        sel = u.selector(d)
        counted.append(z3.And(inside, z3.Or([sel[i] for i in execs])))
    best, witness = 0, []
    n = 1
    while n <= cap:
        lit = z3.Bool(f"at_least_{n}")
        solver.add(z3.Implies(lit, z3.PbGe([(c, 1) for c in counted], n)))
        if solver.check(lit) != z3.sat:
            break
        m = solver.model()
        got = sum(1 for c in counted if z3.is_true(m.eval(c, model_completion=True)))
        states = [u.decode_state(m, d) for d in range(depth + 1)]
        cmds = [u.decode_command(m, d) for d in range(depth)]
        witness = replay(model, rel, states, cmds)
        best = got
        n = got + 1
    return WaitBound(best, depth, best >= cap, witness)
