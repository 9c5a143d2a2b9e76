"""Bounded model checking: every safety property, step by step to a depth.

One incremental z3 solver holds the initial state and the steps added so
far. At depth d it asks, for each property not yet decided, whether some
run of exactly d steps ends in a state that violates it (for an action
property: whose d-th step does); the first depth at which the answer is
yes is the shortest violation, as in the explicit engine's breadth-first
search. Each query is posed under an assumption literal, so the solver
keeps what it learnt from one query to the next.

Alongside, at every depth, the engine checks its own footing: no
reachable state leaves the field types the symbolic relation relies on,
and no reachable state takes a path on which the model itself would fail.

A counterexample is read back from the solver's model as concrete states
and re-executed through the explicit model's successors (label and state
of every step must match), then written as an ITF trace like the explicit
engine's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from checker.engine.trace import INIT, Step
from checker.signals import interrupts_as_keyboard
from checker.smt.expr import and_, evaluate, not_, or_
from checker.smt.relation import Relation, relation_for
from checker.smt.unroll import Unroller, enabled, type_ok
from checker.verdict import Verdict
from specs.property import ACTION, DEADLOCK, INVARIANT, Property


class SmtInternalError(RuntimeError):
    """The symbolic engine contradicts the model: a bug in gmpcheck."""


@dataclass
class Finding:
    """A property's outcome: FAIL (with its trace), UNKNOWN (with why), or PASS."""

    verdict: Verdict
    depth: int | None = None  # fail: steps of the trace
    steps: list[Step] = field(default_factory=list)
    message: str = ""
    reason: str = ""  # unknown: the solver's reason


@dataclass
class BmcResult:
    findings: dict[str, Finding]
    depth: int  # asked for
    depth_reached: int  # every property decided up to here
    per_depth_s: list[float]
    elapsed_s: float
    build_s: float
    commands: int
    stopped: str  # "depth", "all-failed", "unknown", "interrupted"
    timeout_s: float | None = None


# z3 takes SIGINT for itself while it solves: the query returns unknown with
# one of these reasons, and Python never sees the KeyboardInterrupt.
INTERRUPTED = ("interrupted from keyboard", "canceled")


def raise_if_interrupted(solver: z3.Solver, r: z3.CheckSatResult) -> None:
    """A query z3 gave up on because of Ctrl-C (or a signal turned into a
    cancellation) stops the run like Ctrl-C anywhere else."""
    if r == z3.unknown and solver.reason_unknown() in INTERRUPTED:
        raise KeyboardInterrupt


def _check(solver: z3.Solver, lit) -> tuple[z3.CheckSatResult, str]:
    r = solver.check(lit)
    raise_if_interrupted(solver, r)
    return r, (solver.reason_unknown() if r == z3.unknown else "")


def replay(model, rel: Relation, states: list[bytes], cmds: list) -> list[Step]:
    """The run the solver found, re-executed through the explicit model: each
    step must be one of the model's successors, with the same label."""
    steps = [Step(None, INIT, states[0])]
    for i, cmd in enumerate(cmds):
        t, u = states[i], states[i + 1]
        label = cmd.action_on(t)
        succ, _ = model.successors(t)
        hit = [(a, lb) for a, lb, v in succ if v == u and a == cmd.actor and lb == label]
        if not hit:
            raise SmtInternalError(
                f"step {i + 1} of the solver's run ({label} by {model.actor_names()[cmd.actor]}) "
                "is not a step of the model"
            )
        steps.append(Step(cmd.actor, label, u))
    return steps


def model_message(model, prop: Property, steps: list[Step]) -> str:
    last = steps[-1].state
    if prop.kind == ACTION:
        return prop.reason(model, steps[-2].state, steps[-1].label, last) or ""
    if prop.kind == DEADLOCK:
        return "no step is enabled and not every goroutine has exited"
    return prop.reason(model, last) or ""


def run_bmc(
    model,
    props: list[Property],
    depth: int,
    *,
    timeout_s: float | None = None,
    progress: Callable[[int, float], None] | None = None,
    rel: Relation | None = None,
    lemmas: Any = True,
) -> BmcResult:
    """Every property in `props` checked on every run of at most `depth` steps
    from the initial states. `lemmas`, a formula over the state that holds in
    every reachable state (what k-induction proved, `--lemmas`), is asserted
    in each state the unrolling reaches: no real run is cut, and the solver
    need not look at unreachable ones."""
    start = time.perf_counter()
    rel = rel or relation_for(model, props)
    init = model.initial_states()
    tok = type_ok(rel)
    for s in init:
        if not evaluate(tok, s):
            raise SmtInternalError("the initial state is outside the field types")
    u = Unroller(rel)
    solver = z3.SolverFor("QF_BV")
    if timeout_s:
        solver.set("timeout", int(timeout_s * 1000))
    solver.add(u.init(init))

    findings: dict[str, Finding] = {}
    internal = or_(not_(tok), *rel.undefined_guards(), *rel.bad_undefined.values())
    dead = and_(not_(enabled(rel)), not_(enabled(rel, rel.truncated)), not_(rel.final))
    per_depth: list[float] = []

    def query(name: str, f, d: int, steps: int) -> tuple[str, Any]:
        lit = z3.Bool(f"q_{name}_{d}")
        solver.add(z3.Implies(lit, f))
        r, why = _check(solver, lit)
        if r == z3.sat:
            m = solver.model()
            states = [u.decode_state(m, i) for i in range(steps + 1)]
            cmds = [u.decode_command(m, i) for i in range(steps)]
            return "sat", (states, cmds)
        if r == z3.unknown:
            return "unknown", why
        return "unsat", None

    try:
        with interrupts_as_keyboard():
            stopped, unknown_why, reached = _unroll(
                model, rel, u, solver, props, depth, findings, per_depth, progress, lemmas,
                query, internal, dead, tok,
            )  # fmt: skip
    except KeyboardInterrupt:
        stopped, unknown_why = "interrupted", "interrupted"
        reached = len(per_depth) - 1
        for p in props:  # a property that failed at the depth being decided stays failed
            if p.id in findings and findings[p.id].verdict != Verdict.FAIL:
                del findings[p.id]
    for p in props:
        if stopped in ("unknown", "interrupted"):
            why = (
                f"decided up to depth {reached} only: interrupted"
                if stopped == "interrupted"
                else f"decided up to depth {reached} only: the solver stopped, {unknown_why}"
            )
            findings.setdefault(p.id, Finding(Verdict.UNKNOWN, reason=why))
        findings.setdefault(p.id, Finding(Verdict.PASS))
    return BmcResult(
        findings=findings,
        depth=depth,
        depth_reached=reached,
        per_depth_s=per_depth,
        elapsed_s=time.perf_counter() - start,
        build_s=rel.build_s,
        commands=len(rel.steps),
        stopped=stopped,
        timeout_s=timeout_s,
    )


def _unroll(
    model, rel, u, solver, props, depth, findings, per_depth, progress, lemmas, query,
    internal, dead, tok,
) -> tuple[str, str, int]:  # fmt: skip
    """The depths, one by one: (stopped, why the solver stopped, depth reached)."""
    invariants = [p for p in props if p.kind == INVARIANT]
    actions = [p for p in props if p.kind == ACTION]
    deadlock = [p for p in props if p.kind == DEADLOCK]
    stopped, unknown_why, reached = "depth", "", -1

    def open_(p: Property) -> bool:
        return p.id not in findings

    for d in range(depth + 1):
        t0 = time.perf_counter()
        if lemmas is not True:
            solver.add(u.pred(lemmas, d, "lemmas"))
        # One query for everything that could go wrong at this depth: when
        # nothing can (the common case), that is the only proof the solver
        # has to find; otherwise each property is asked on its own.
        state_props = [p for p in [*invariants, *deadlock] if open_(p)]
        anything = [u.pred(internal, d)]
        anything += [
            u.pred(dead if p.kind == DEADLOCK else rel.bad[p.id], d, p.id) for p in state_props
        ]
        r, got = query("any", z3.Or(anything), d, d)
        if r == "unsat":
            state_props = []
            r, got = "unsat", None
        else:
            r, got = query("internal", u.pred(internal, d), d, d)
        if r == "unknown":
            # The engine's own footing is not established at this depth: no
            # verdict from here on can be trusted.
            stopped, unknown_why = "unknown", f"{got or 'unknown'} (the type check at depth {d})"
            break
        if r == "sat":
            states, cmds = got
            steps = replay(model, rel, states, cmds)
            raise SmtInternalError(
                f"a state reachable in {d} steps breaks the symbolic engine's assumptions "
                f"(field types, or a path on which the model fails); last step: {steps[-1].label}"
            )
        for p in state_props:
            bad = dead if p.kind == DEADLOCK else rel.bad[p.id]
            r, got = query(p.id, u.pred(bad, d, p.id), d, d)
            _record(model, rel, p, r, got, d, findings)
        if d < depth:
            solver.add(u.trans(d))
            for p in actions:
                if open_(p):
                    r, got = query(p.id, u.pred(rel.bad[p.id], d, p.id), d, d + 1)
                    _record(model, rel, p, r, got, d + 1, findings)
        per_depth.append(time.perf_counter() - t0)
        if progress is not None:
            progress(d, per_depth[-1])
        stuck = [f for f in findings.values() if f.verdict == Verdict.UNKNOWN]
        if stuck:
            stopped, unknown_why = "unknown", f"{stuck[0].reason} (at depth {d})"
            break
        reached = d
        if props and all(p.id in findings for p in props):
            stopped = "all-failed"
            break
    return stopped, unknown_why, reached


def _record(model, rel, p: Property, r: str, got, steps_n: int, findings: dict) -> None:
    if r == "unsat":
        return
    if r == "unknown":
        findings[p.id] = Finding(Verdict.UNKNOWN, reason=got or "unknown")
        return
    states, cmds = got
    steps = replay(model, rel, states, cmds)
    msg = model_message(model, p, steps)
    if p.kind != DEADLOCK and not msg:
        raise SmtInternalError(f"the solver's counterexample to {p.id} does not violate it")
    findings[p.id] = Finding(Verdict.FAIL, depth=steps_n, steps=steps, message=msg)
