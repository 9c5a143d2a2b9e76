"""k-induction of the safety invariants, strengthened by each other.

A property P holds in every reachable state if (base) no run of fewer than
k steps from an initial state violates it, and (step) any k consecutive
states that satisfy it, joined by steps, are followed by a state that
satisfies it. P alone is rarely inductive: a state that satisfies P but is
not reachable may step out of it. So P is strengthened with auxiliary
invariants — here the model's other safety invariants, the field types and
"the model never fails here" — and the whole conjunction is proved at once
(each conjunct is then proved as well, never merely assumed).

Which conjuncts go in is found Houdini-style: start with all of them; when
the step case fails, the conjuncts the counterexample's last state breaks
are not inductive relative to the others: they are dropped (with the
counterexample to induction kept, to show) and the rest is tried again. At
the fixpoint what is left is k-inductive; with the base case, it is proved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from checker.smt.bmc import run_bmc
from checker.smt.expr import evaluate, not_, or_
from checker.smt.relation import Relation, relation_for
from checker.smt.unroll import Unroller, type_ok
from checker.trace import Step
from specs.property import INVARIANT, Property

TYPES = "field-types"  # the auxiliary invariant: every byte within its type
DEFINED = "model-defined"  # and no step or check of the model fails there

CTI_START = "any state satisfying the candidate invariants"


@dataclass
class Cti:
    """A counterexample to induction: k+1 states joined by steps, the first k
    satisfying the candidate invariants, the last breaking `broken`."""

    k: int
    broken: list[str]
    steps: list[Step]


@dataclass
class ProofResult:
    proved: list[str]  # conjuncts of the inductive strengthening
    not_proved: dict[str, Cti]  # dropped, with the CTI that dropped it
    base_failed: dict[str, str]  # violated from an initial state (depth, message)
    unknown: str = ""  # the solver's reason, if a query had no answer
    k: int = 1
    rounds: int = 0
    elapsed_s: float = 0.0
    per_round_s: list[float] = field(default_factory=list)


def candidates(rel: Relation, props: list[Property]) -> dict[str, object]:
    """Each candidate invariant as a formula over the state (true = holds)."""
    out: dict[str, object] = {
        TYPES: type_ok(rel),
        DEFINED: not_(or_(*rel.undefined_guards(), *rel.bad_undefined.values())),
    }
    for p in props:
        out[p.id] = not_(rel.bad[p.id])
    return out


def prove(model, props: list[Property], k: int = 1, timeout_s: float | None = None) -> ProofResult:
    """k-induction of every invariant in `props`, each strengthened by the others."""
    start = time.perf_counter()
    invs = [p for p in props if p.kind == INVARIANT and p.check is not None]
    rel = relation_for(model, invs)
    res = ProofResult([], {}, {}, k=k)
    # Base: nothing fails in the first k-1 steps (BMC also checks the types
    # and the model's definedness at each depth, so those hold there too).
    base = run_bmc(model, invs, k - 1, timeout_s=timeout_s, rel=rel)
    for pid, f in base.findings.items():
        if f.verdict == "fail":
            res.base_failed[pid] = f"fails at depth {f.depth}: {f.message}"
        elif f.verdict == "unknown":
            res.unknown = f.reason
    if res.unknown:
        res.elapsed_s = time.perf_counter() - start
        return res
    cand = candidates(rel, invs)
    live = [c for c in cand if c not in res.base_failed]
    u = Unroller(rel)
    solver = z3.SolverFor("QF_BV")
    if timeout_s:
        solver.set("timeout", int(timeout_s * 1000))
    for d in range(k):
        solver.add(u.trans(d))
    for i in range(k + 1):
        for j in range(i + 1, k + 1):
            solver.add(u.distinct(i, j))  # a shortest path: k-induction is complete with it
    lits = {c: [z3.Bool(f"inv_{c}_{d}") for d in range(k + 1)] for c in cand}
    for c, f in cand.items():
        for d in range(k + 1):
            solver.add(z3.Implies(lits[c][d], u.pred(f, d, f"inv:{c}")))
    while live:
        t0 = time.perf_counter()
        res.rounds += 1
        assume = [lits[c][d] for c in live for d in range(k)]
        some_breaks = z3.Bool(f"breaks_{res.rounds}")
        solver.add(
            z3.Implies(some_breaks, z3.Or([z3.Not(u.pred(cand[c], k, f"inv:{c}")) for c in live]))
        )
        r = solver.check(*assume, some_breaks)
        res.per_round_s.append(time.perf_counter() - t0)
        if r == z3.unknown:
            res.unknown = solver.reason_unknown()
            break
        if r == z3.unsat:
            res.proved = list(live)
            break
        m = solver.model()
        states = [u.decode_state(m, d) for d in range(k + 1)]
        cmds = [u.decode_command(m, d) for d in range(k)]
        last = states[-1]
        broken = [c for c in live if not evaluate(cand[c], last)]
        if not broken:
            raise RuntimeError("the solver's counterexample to induction breaks no invariant")
        steps = [Step(None, CTI_START, states[0])]
        for d, cmd in enumerate(cmds):
            steps.append(Step(cmd.actor, cmd.label_on(states[d]), states[d + 1]))
        cti = Cti(k, broken, steps)
        for c in broken:
            res.not_proved[c] = cti
        live = [c for c in live if c not in broken]
    res.elapsed_s = time.perf_counter() - start
    return res
