"""The relation as z3 formulas, copied out to as many steps as a query needs.

The transition formula is built once over template variables (x the
state, y the next state, `sel` the command taken) and placed at step d by
substitution: x -> X_d, y -> X_{d+1}, sel -> S_d. It says

    S_d names a step command whose guard holds in X_d, and each byte of
    X_{d+1} is what that command writes there, or X_d's byte if it writes
    nothing there

(one selector instead of a disjunction of whole-state equalities: a byte is
an if-then-else over the commands that write it).
"""

from __future__ import annotations

from typing import Any

import z3

from checker.smt.encode import Encoder
from checker.smt.expr import and_, isin, not_, or_, var
from checker.smt.relation import Command, Relation
from model.action import Action


class Unroller:
    def __init__(self, rel: Relation):
        self.rel = rel
        self.size = n = rel.size
        self.enc = Encoder(n)
        steps = rel.steps
        enc = self.enc
        # One Boolean per command, exactly one of them true: cheaper for the
        # SAT solver than a binary selector compared with each index.
        self.sel = [z3.Bool(f"c{i}") for i in range(len(steps))]
        parts, written = command_step(enc, steps, self.sel)
        for k in range(n):
            parts.append(enc.y[k] == written.get(k, enc.x[k]))
        self._trans = z3.And(parts)
        self._states: list[list[Any]] = []
        self._sels: list[list[Any]] = []
        self._formulas: dict[tuple, Any] = {}

    # ---- variables ----------------------------------------------------------------

    def state(self, d: int) -> list[Any]:
        while len(self._states) <= d:
            i = len(self._states)
            self._states.append([z3.BitVec(f"s{i}_{k}", 8) for k in range(self.size)])
        return self._states[d]

    def selector(self, d: int) -> list[Any]:
        while len(self._sels) <= d:
            i = len(self._sels)
            self._sels.append([z3.Bool(f"c{i}_{j}") for j in range(len(self.sel))])
        return self._sels[d]

    def _at(self, f, d: int, two: bool = False):
        pairs = list(zip(self.enc.x, self.state(d), strict=True))
        if two:
            pairs += list(zip(self.enc.y, self.state(d + 1), strict=True))
            pairs += list(zip(self.sel, self.selector(d), strict=True))
        return z3.substitute(f, pairs)

    # ---- formulas at a step ------------------------------------------------------------

    def trans(self, d: int):
        """A step from X_d to X_{d+1}."""
        return self._at(self._trans, d, two=True)

    def pred(self, e, d: int, name: str | None = None):
        """A condition over the state (var(size + k) is the next state's byte k)
        placed at step d."""
        key = (name, d) if name else None
        if key and key in self._formulas:
            return self._formulas[key]
        f = self._at(self.enc.bool_term(e), d, two=self._reads_next(e))
        if key:
            self._formulas[key] = f
        return f

    def _reads_next(self, e) -> bool:
        from checker.smt.expr import Node

        if type(e) is not Node:
            return False
        return any(v >= self.size for v in state_bytes(e))

    def init(self, states: list[bytes]):
        """X_0 is one of the given concrete states."""
        x0 = self.state(0)
        return z3.Or([z3.And([x0[k] == v for k, v in enumerate(s)]) for s in states])

    def equal(self, d: int, t: bytes):
        return z3.And([b == v for b, v in zip(self.state(d), t, strict=True)])

    def distinct(self, i: int, j: int):
        return z3.Or([a != b for a, b in zip(self.state(i), self.state(j), strict=True)])

    # ---- reading a model back ------------------------------------------------------------

    def decode_state(self, m: z3.ModelRef, d: int) -> bytes:
        return bytes(m.eval(b, model_completion=True).as_long() for b in self.state(d))

    def decode_command(self, m: z3.ModelRef, d: int) -> Command:
        for i, c in enumerate(self.selector(d)):
            if z3.is_true(m.eval(c, model_completion=True)):
                return self.rel.steps[i]
        raise ValueError(f"no command taken at step {d}")


def command_step(enc: Encoder, cmds: list[Command], sel: list) -> tuple[list, dict[int, Any]]:
    """One of `cmds` is taken, sel[i] saying it is cmds[i]: the constraints
    (exactly one selector true, and its command's guard holds), and each byte
    the commands write as an if-then-else over the selectors of its writers
    (the old byte where none of them is taken)."""
    parts = [z3.Or(sel), z3.AtMost(*sel, 1)] if cmds else [z3.BoolVal(False)]
    writers: dict[int, list[tuple[int, Any]]] = {}
    for i, c in enumerate(cmds):
        parts.append(z3.Implies(sel[i], enc.bool_term(c.guard)))
        for k, e in c.effect.items():
            writers.setdefault(k, []).append((i, e))
    written = {}
    for k in sorted(writers):
        rhs = enc.x[k]
        for i, e in reversed(writers[k]):
            rhs = z3.If(sel[i], enc.byte_term(e), rhs)
        written[k] = rhs
    return parts, written


def solutions_from(u: Unroller, t: bytes, limit: int = 10_000) -> list[tuple[int, Action, bytes]]:
    """Every (actor, label, next state) the relation allows from the concrete
    state t, found by the solver one at a time: each answer's command is
    blocked before asking again (a command's effect is a function of the
    state, so the command names the solution)."""
    solver = z3.SolverFor("QF_BV")
    solver.add([b == v for b, v in zip(u.enc.x, t, strict=True)])
    solver.add(u._trans)
    out = []
    while solver.check() == z3.sat:
        m = solver.model()
        i = next(i for i, c in enumerate(u.sel) if z3.is_true(m.eval(c, model_completion=True)))
        cmd = u.rel.steps[i]
        after = bytes(m.eval(b, model_completion=True).as_long() for b in u.enc.y)
        out.append((cmd.actor, cmd.action_on(t), after))
        solver.add(z3.Not(u.sel[i]))
        if len(out) > limit:
            raise RuntimeError(f"more than {limit} solutions from one state")
    return out


def state_bytes(e) -> set[int]:
    """The indexes of the state bytes e reads (size + k: the next state's byte k)."""
    from checker.smt.expr import Node

    out: set[int] = set()
    stack = [e]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if type(n) is not Node or n.hid in seen:
            continue
        seen.add(n.hid)
        if n.op == "var":
            out.add(n.args[0])
            continue
        for a in n.args:
            if type(a) is Node:
                stack.append(a)
            elif type(a) is tuple:
                stack.extend(x for x in a if type(x) is Node)
    return out


def enabled(rel: Relation, cmds: list[Command] | None = None):
    """Some command (a step, by default) is enabled: a condition over x."""
    return or_(*(c.guard for c in (rel.steps if cmds is None else cmds)))


def type_ok(rel: Relation):
    return and_(*(isin(var(k), d) for k, d in enumerate(rel.domains) if len(d) < 256))


def negate(e):
    return not_(e)
