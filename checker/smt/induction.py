"""k-induction of the safety invariants, strengthened by each other.

A property P holds in every reachable state if (base) no run of fewer than
k steps from an initial state violates it, and (step) any k consecutive
states that satisfy it, joined by steps, are followed by a state that
satisfies it. P alone is rarely inductive: a state that satisfies P but is
not reachable may step out of it. So P is strengthened with auxiliary
invariants — here the model's other safety invariants, the control-state
invariants of specs/control.py (what each M's registers hold at each
program counter), the field types and "the model never fails here" — and
the whole conjunction is proved at once (each conjunct is then proved as
well, never merely assumed).

Which conjuncts go in is found Houdini-style: start with all of them; when
the step case fails, the conjuncts the counterexample's last state breaks
are not inductive relative to the others: they are dropped (with the
counterexample to induction kept, to show) and the rest is tried again. At
the fixpoint what is left is k-inductive; with the base case, it is proved.
For k = 1 the step case is asked one actor and program counter at a time
(`_step_case_by_command`), which is what makes it finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import z3

from checker.engine.trace import Step
from checker.signals import interrupts_as_keyboard
from checker.smt.bmc import raise_if_interrupted, run_bmc
from checker.smt.encode import Encoder
from checker.smt.expr import BoolExpr, Node, and_, evaluate, not_, or_
from checker.smt.relation import Command, Relation, relation_for
from checker.smt.unroll import Unroller, command_step, state_bytes, type_ok
from checker.verdict import Verdict
from model.action import Action
from specs import properties_of
from specs.property import INVARIANT, Property

TYPES = "field-types"  # the auxiliary invariant: every byte within its type
DEFINED = "model-defined"  # and no step or check of the model fails there

# The invariants `prove` is for; the others help as auxiliaries.
TARGETS = ("no-lost-g", "p-ownership", "spinning-accounting")

CTI_START = Action.plain_text("any state satisfying the candidate invariants")


@dataclass
class Cti:
    """A counterexample to induction: k+1 states joined by steps, the first k
    satisfying the candidate invariants, the last breaking `broken`."""

    k: int
    broken: list[str]
    steps: list[Step]


@dataclass
class ProofResult:
    proved: list[str]  # candidates whose every conjunct is in the inductive strengthening
    not_proved: dict[str, Cti]  # a conjunct dropped, with the CTI that dropped it
    base_failed: dict[str, str]  # violated from an initial state (depth, message)
    unknown: str = ""  # the solver's reason, if a query had no answer
    lemmas: BoolExpr = True  # every proved conjunct, one formula: holds in every reachable state
    k: int = 1
    rounds: int = 0
    elapsed_s: float = 0.0
    per_round_s: list[float] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C or a signal stopped the proof

    def verdict(self, candidate: str) -> Verdict:
        """FAIL (from an initial state), PROVED, NOT_PROVED or UNKNOWN."""
        if candidate in self.base_failed:
            return Verdict.FAIL
        if candidate in self.proved:
            return Verdict.PROVED
        if candidate in self.not_proved:
            return Verdict.NOT_PROVED
        return Verdict.UNKNOWN


def proof_invariants(model) -> list[Property]:
    """What `prove` proves together: the model's default safety invariants and
    the control-state invariants (specs/control.py) that strengthen them."""
    from specs.control import control_invariants

    invs = [p for p in properties_of(model) if p.default and p.kind == INVARIANT]
    return invs + control_invariants(model)


def candidates(rel: Relation, props: list[Property]) -> dict[str, BoolExpr]:
    """Each candidate invariant as a formula over the state (true = holds)."""
    out: dict[str, BoolExpr] = {
        TYPES: type_ok(rel),
        DEFINED: not_(or_(*rel.undefined_guards(), *rel.bad_undefined.values())),
    }
    for p in props:
        out[p.id] = not_(rel.bad[p.id])
    return out


def conjuncts(cand: dict[str, BoolExpr]) -> dict[str, tuple[str, BoolExpr]]:
    """Each candidate cut into its conjuncts (`name#i` -> (candidate, formula)).

    Houdini then drops only the conjunct a counterexample breaks, not the
    whole candidate: what is left of a candidate still strengthens the
    others, and a step that touches none of a conjunct's bytes cannot break
    it (the step case skips it)."""
    out: dict[str, tuple[str, BoolExpr]] = {}
    for name, f in cand.items():
        for i, part in enumerate(_split(f)):
            out[f"{name}#{i}"] = (name, part)
    return out


def _split(f: BoolExpr) -> list[BoolExpr]:
    if type(f) is not Node:
        return [f]
    if f.op == "and":
        return [x for a in f.args for x in _split(a)]
    if f.op == "not" and type(f.args[0]) is Node and f.args[0].op == "or":
        return [x for a in f.args[0].args for x in _split(not_(a))]
    return [f]


def prove(
    model,
    props: list[Property],
    k: int = 1,
    timeout_s: float | None = None,
    by_command: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ProofResult:
    """k-induction of every invariant in `props`, each strengthened by the others.

    For k = 1 the step case is asked one program counter at a time
    (`by_command`); False asks it as one query over the whole relation, as
    for k > 1 (the tests check that both find the same invariants).
    `progress(done, total)` is told how many queries of the round are
    answered (by command; a round of the unrolled step case is one query)."""
    start = time.perf_counter()
    invs = [p for p in props if p.kind == INVARIANT and p.check is not None]
    rel = relation_for(model, invs)
    res = ProofResult([], {}, {}, k=k)
    # Base: nothing fails in the first k-1 steps (BMC also checks the types
    # and the model's definedness at each depth, so those hold there too).
    base = run_bmc(model, invs, k - 1, timeout_s=timeout_s, rel=rel)
    for pid, f in base.findings.items():
        if f.verdict == Verdict.FAIL:
            res.base_failed[pid] = f"fails at depth {f.depth}: {f.message}"
        elif f.verdict == Verdict.UNKNOWN:
            res.unknown = f.reason
    if base.stopped == "interrupted":
        res.interrupted = True
    if res.unknown:
        res.elapsed_s = time.perf_counter() - start
        return res
    parts = conjuncts(candidates(rel, invs))
    live = [n for n, (c, _) in parts.items() if c not in res.base_failed]
    step_case = _step_case_by_command if k == 1 and by_command else _step_case_unrolled
    try:
        with interrupts_as_keyboard():
            kept = step_case(rel, {n: parts[n][1] for n in live}, k, timeout_s, res, progress)
    except KeyboardInterrupt:
        # Nothing is proved until the fixpoint is reached: an interrupted
        # proof proves nothing, and says where it was.
        res.unknown = f"interrupted in round {res.rounds} of the step case"
        res.interrupted = True
        res.elapsed_s = time.perf_counter() - start
        return res
    if not res.unknown:
        res.lemmas = and_(*(parts[n][1] for n in parts if n in kept))
        dropped = {c for n, (c, _) in parts.items() if n not in kept}
        whole = dict.fromkeys(c for c, _ in parts.values())
        res.proved = [c for c in whole if c not in dropped and c not in res.base_failed]
    res.elapsed_s = time.perf_counter() - start
    return res


def _owner(conjunct: str) -> str:
    return conjunct.rsplit("#", 1)[0]


def _drop(res: ProofResult, cti_steps: list[Step], broken_parts: list[str], k: int) -> None:
    owners = list(dict.fromkeys(_owner(n) for n in broken_parts))
    cti = Cti(k, owners, cti_steps)
    for c in owners:
        res.not_proved.setdefault(c, cti)


def _step_case_by_command(
    rel: Relation, live: dict[str, BoolExpr], k: int, timeout_s, res, progress=None
) -> set:
    """The step case for k = 1, asked one program counter at a time.

    With one step there is no path to constrain, so "some step from a state
    satisfying every live conjunct breaks one" splits into one query per
    actor and program counter: that actor's commands there, and only the
    conjuncts that read a byte they write (a conjunct over untouched bytes
    keeps its value). Many small queries are far cheaper for z3 than one
    over the whole relation.

    Dropping a conjunct weakens the hypothesis of every query answered
    before, so a program counter is asked again only if something was
    dropped since its last "no" (Houdini's fixpoint, without re-asking the
    queries whose hypothesis did not change)."""
    enc = Encoder(rel.size)
    terms = {n: enc.bool_term(f) for n, f in live.items()}
    reads = {n: state_bytes(f) for n, f in live.items()}
    groups: dict[tuple[int, int], list[Command]] = {}
    for c in rel.steps:
        groups.setdefault((c.actor, c.pc), []).append(c)
    alive = set(live)
    generation = 0  # how many drops so far
    proved_at = dict.fromkeys(groups, -1)
    while any(g < generation for g in proved_at.values()):
        t0 = time.perf_counter()
        res.rounds += 1
        for done, (key, cmds) in enumerate(groups.items()):
            if progress is not None:
                progress(done, len(groups))
            if proved_at[key] == generation:
                continue
            while True:
                found = _break_at(enc, terms, reads, alive, cmds, timeout_s)
                if found is None:
                    proved_at[key] = generation
                    break
                if isinstance(found, str):
                    res.unknown = found
                    res.per_round_s.append(time.perf_counter() - t0)
                    return alive
                before, cmd, broken = found
                step = Step(cmd.actor, cmd.action_on(before), cmd.apply(before))
                _drop(res, [Step(None, CTI_START, before), step], broken, k)
                alive -= set(broken)
                generation += 1
        res.per_round_s.append(time.perf_counter() - t0)
    return alive


def _break_at(enc: Encoder, terms, reads, alive: set, cmds: list[Command], timeout_s):
    """A state satisfying every live conjunct from which one of `cmds` steps
    to a state breaking one: (state, command, broken conjuncts), None if
    there is none, or the solver's reason if it has no answer."""
    written = set().union(*(c.effect for c in cmds))
    touched = [n for n in terms if n in alive and reads[n] & written]
    if not touched:
        return None
    sel = [z3.Bool(f"cmd{i}") for i in range(len(cmds))]
    taken, after = command_step(enc, cmds, sel)
    pairs = list((enc.x[k], v) for k, v in after.items())
    nxt = {n: z3.substitute(terms[n], pairs) for n in touched}
    solver = z3.SolverFor("QF_BV")
    if timeout_s:
        solver.set("timeout", int(timeout_s * 1000))
    solver.add([terms[n] for n in terms if n in alive])
    solver.add(taken)
    solver.add(z3.Or([z3.Not(nxt[n]) for n in touched]))
    r = solver.check()
    raise_if_interrupted(solver, r)
    if r == z3.unknown:
        return solver.reason_unknown() or "unknown"
    if r == z3.unsat:
        return None
    m = solver.model()
    before = bytes(m.eval(b, model_completion=True).as_long() for b in enc.x)
    cmd = next(c for s, c in zip(sel, cmds, strict=True) if z3.is_true(m.eval(s, True)))
    broken = [n for n in touched if z3.is_false(m.eval(nxt[n], model_completion=True))]
    return before, cmd, broken


def _step_case_unrolled(
    rel: Relation, live: dict[str, BoolExpr], k: int, timeout_s, res, progress=None
) -> set:
    """The step case as one query over k unrolled steps of the whole
    relation, on a shortest path (distinct states: k-induction is complete
    with it). Each round is one such query, and dear: for k > 1 a broken
    conjunct drops its whole candidate, so that there are few rounds."""
    u = Unroller(rel)
    solver = z3.SolverFor("QF_BV")
    if timeout_s:
        solver.set("timeout", int(timeout_s * 1000))
    for d in range(k):
        solver.add(u.trans(d))
    for i in range(k + 1):
        for j in range(i + 1, k + 1):
            solver.add(u.distinct(i, j))
    lits = {n: [z3.Bool(f"inv_{n}_{d}") for d in range(k + 1)] for n in live}
    for n, f in live.items():
        for d in range(k + 1):
            solver.add(z3.Implies(lits[n][d], u.pred(f, d, f"inv:{n}")))
    alive = set(live)
    while alive:
        t0 = time.perf_counter()
        if progress is not None:
            progress(res.rounds, len(live))
        res.rounds += 1
        assume = [lits[n][d] for n in live if n in alive for d in range(k)]
        some_breaks = z3.Bool(f"breaks_{res.rounds}")
        solver.add(
            z3.Implies(
                some_breaks,
                z3.Or([z3.Not(u.pred(live[n], k, f"inv:{n}")) for n in live if n in alive]),
            )
        )
        r = solver.check(*assume, some_breaks)
        raise_if_interrupted(solver, r)
        res.per_round_s.append(time.perf_counter() - t0)
        if r == z3.unknown:
            res.unknown = solver.reason_unknown()
            break
        if r == z3.unsat:
            break
        m = solver.model()
        states = [u.decode_state(m, d) for d in range(k + 1)]
        cmds = [u.decode_command(m, d) for d in range(k)]
        broken = [n for n in live if n in alive and not evaluate(live[n], states[-1])]
        if not broken:
            raise RuntimeError("the solver's counterexample to induction breaks no invariant")
        if k > 1:
            owners = {_owner(n) for n in broken}
            broken = [n for n in live if n in alive and _owner(n) in owners]
        steps = [Step(None, CTI_START, states[0])]
        for d, cmd in enumerate(cmds):
            steps.append(Step(cmd.actor, cmd.action_on(states[d]), states[d + 1]))
        _drop(res, steps, broken, k)
        alive -= set(broken)
    return alive
