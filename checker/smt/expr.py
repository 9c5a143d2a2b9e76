"""Symbolic expressions over the state vector, and what a path knows about them.

An expression is a Python int or bool (a constant) or an interned `Node`.
Nodes are built through the constructors below, which fold constants and
simplify on the way, so that a step run over symbolic values stays close to
the concrete run: a value the path has pinned down is a plain int again.

Integer expressions have Python's meaning on the values the model uses
(bytes of the state, small counters); z3 sees them as 16-bit vectors
(checker/smt/encode.py), wide enough for every intermediate result a step
or a property computes. Boolean expressions are formulas.

Node kinds (`op`):
    int:  var(k)                  byte k of the state vector
          sel(idx, keys, vals)    vals[i] where idx == keys[i] (a table lookup
                                  with a symbolic index; idx is one of keys)
          ite(c, a, b)
          add sub mul div mod band bor bxor shl shr
    bool: isin(e, S)              e is one of the constants in S
          eq(a, b) lt(a, b) le(a, b)  (neither side constant for eq)
          not(c) and(c...) or(c...)

What a path has learnt about them is checker/smt/knowledge.py.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Union, final

INT, BOOL = "int", "bool"


@final  # no subclass: `type(x) is Node` tells a node from a constant
class Node:
    __slots__ = ("op", "args", "sort", "hid")
    op: str
    args: tuple
    sort: str
    hid: int  # creation order: children before their parents

    def __repr__(self) -> str:
        return show(self)


IntExpr = Union[int, Node]  # noqa: UP007
BoolExpr = Union[bool, Node]  # noqa: UP007

_TABLE: dict[tuple, Node] = {}
_NEXT = [0]


def _mk(op: str, sort: str, args: tuple) -> Node:
    key = (op, args)
    n = _TABLE.get(key)
    if n is None:
        n = Node()
        n.op, n.args, n.sort, n.hid = op, args, sort, _NEXT[0]
        _NEXT[0] += 1
        _TABLE[key] = n
    return n


def is_node(x: object) -> bool:
    return type(x) is Node


def var(k: int) -> Node:
    return _mk("var", INT, (k,))


# ---- booleans -------------------------------------------------------------------


def not_(c: BoolExpr) -> BoolExpr:
    if type(c) is bool:
        return not c
    if c.op == "not":
        return c.args[0]
    return _mk("not", BOOL, (c,))


def _junction(op: str, unit: bool, cs: Iterable[BoolExpr]) -> BoolExpr:
    out: list[Node] = []
    seen: set[int] = set()
    for c in cs:
        if type(c) is bool:
            if c is unit:
                continue
            return not unit
        parts = c.args if c.op == op else (c,)
        for p in parts:
            if p.hid in seen:
                continue
            neg = p.args[0] if p.op == "not" else _mk("not", BOOL, (p,))
            if neg.hid in seen:
                return not unit
            seen.add(p.hid)
            out.append(p)
    if not out:
        return unit
    if len(out) == 1:
        return out[0]
    out.sort(key=lambda n: n.hid)
    return _mk(op, BOOL, tuple(out))


def and_(*cs: BoolExpr) -> BoolExpr:
    return _junction("and", True, cs)


def or_(*cs: BoolExpr) -> BoolExpr:
    return _junction("or", False, cs)


def isin(e: IntExpr, s: frozenset[int]) -> BoolExpr:
    """e is one of the constants in s."""
    if type(e) is not Node:
        return e in s
    if not s:
        return False
    if e.op == "sel":
        idx, keys, vals = e.args
        if all(type(v) is not Node for v in vals):
            return isin(idx, frozenset(k for k, v in zip(keys, vals, strict=True) if v in s))
    if e.op == "ite":
        c, a, b = e.args
        if type(a) is not Node and type(b) is not Node:
            return or_(and_(c, a in s), and_(not_(c), b in s))
    return _mk("isin", BOOL, (e, frozenset(s)))


def eq(a: IntExpr, b: IntExpr) -> BoolExpr:
    if type(a) is not Node:
        if type(b) is not Node:
            return a == b
        return isin(b, frozenset((a,)))
    if type(b) is not Node:
        return isin(a, frozenset((b,)))
    if a is b:
        return True
    if a.hid > b.hid:
        a, b = b, a
    return _mk("eq", BOOL, (a, b))


def lt(a: IntExpr, b: IntExpr) -> BoolExpr:
    if type(a) is not Node and type(b) is not Node:
        return a < b
    if a is b:
        return False
    return _mk("lt", BOOL, (a, b))


def le(a: IntExpr, b: IntExpr) -> BoolExpr:
    if type(a) is not Node and type(b) is not Node:
        return a <= b
    if a is b:
        return True
    return _mk("le", BOOL, (a, b))


# ---- integers -------------------------------------------------------------------


def ite(c: BoolExpr, a: IntExpr, b: IntExpr) -> IntExpr:
    if type(c) is bool:
        return a if c else b
    if a is b or (type(a) is not Node and type(b) is not Node and a == b):
        return a
    if c.op == "not":
        c, a, b = c.args[0], b, a
    return _mk("ite", INT, (c, a, b))


def b2i(c: BoolExpr) -> IntExpr:
    return ite(c, 1, 0)


def sel(idx: IntExpr, keys: tuple[int, ...], vals: tuple[IntExpr, ...]) -> IntExpr:
    """vals[i] where idx == keys[i]; the caller knows idx is one of keys."""
    if type(idx) is not Node:
        return vals[keys.index(idx)]
    first = vals[0]
    if len(vals) == 1 or all(v is first or (type(v) is int and v == first) for v in vals):
        return first
    if idx.op == "sel" and all(type(v) is not Node for v in idx.args[2]):
        # sel(sel(g, K, V), V', X): look g up directly.
        inner, ikeys, ivals = idx.args
        pairs = [(k, vals[keys.index(v)]) for k, v in zip(ikeys, ivals, strict=True) if v in keys]
        return sel(inner, tuple(k for k, _ in pairs), tuple(v for _, v in pairs))
    return _mk("sel", INT, (idx, tuple(keys), tuple(vals)))


def count(conds: tuple) -> IntExpr:
    """How many of the conditions hold."""
    k = 0
    rest = []
    for c in conds:
        if type(c) is bool:
            k += c
        else:
            rest.append(c)
    if not rest:
        return k
    n = _mk("count", INT, tuple(rest))
    return n if k == 0 else _mk("add", INT, (n, k))


def _count_parts(x) -> tuple | None:
    if type(x) is Node:
        if x.op == "count":
            return x.args
        if x.op == "ite" and type(x.args[1]) is int and type(x.args[2]) is int:
            if (x.args[1], x.args[2]) == (1, 0):
                return (x.args[0],)
        return None
    return () if x == 0 else None


PY_OPS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.floordiv,
    "mod": operator.mod,
    "band": operator.and_,
    "bor": operator.or_,
    "bxor": operator.xor,
    "shl": operator.lshift,
    "shr": operator.rshift,
}


def arith(op: str, a: IntExpr, b: IntExpr) -> IntExpr:
    if op == "add":
        pa, pb = _count_parts(a), _count_parts(b)
        if pa is not None and pb is not None and (pa or pb):
            return count(pa + pb)
    fn = PY_OPS[op]
    if type(a) is not Node:
        if type(b) is not Node:
            return fn(a, b)
        if a == 0 and op in ("add", "bor", "bxor"):
            return b
        if a == 0 and op in ("mul", "band", "shl", "shr", "div", "mod"):
            return 0
        if b.op == "sel" and all(type(v) is not Node for v in b.args[2]):
            idx, keys, vals = b.args
            return sel(idx, keys, tuple(fn(a, v) for v in vals))
        if b.op == "ite" and type(b.args[1]) is not Node and type(b.args[2]) is not Node:
            return ite(b.args[0], fn(a, b.args[1]), fn(a, b.args[2]))
    elif type(b) is not Node:
        if b == 0 and op in ("add", "sub", "bor", "bxor", "shl", "shr"):
            return a
        if b == 1 and op in ("mul", "div"):
            return a
        if b == 0 and op in ("mul", "band"):
            return 0
        if a.op == "sel" and all(type(v) is not Node for v in a.args[2]):
            idx, keys, vals = a.args
            return sel(idx, keys, tuple(fn(v, b) for v in vals))
        if a.op == "ite" and type(a.args[1]) is not Node and type(a.args[2]) is not Node:
            return ite(a.args[0], fn(a.args[1], b), fn(a.args[2], b))
    return _mk(op, INT, (a, b))


# ---- evaluation on a concrete state -------------------------------------------------


def evaluate(e: IntExpr | BoolExpr, state: bytes | list[int], memo: dict | None = None):
    """The value of e on a concrete state (Python semantics)."""
    if type(e) is not Node:
        return e
    if memo is None:
        memo = {}
    got = memo.get(e.hid)
    if got is not None:
        return got
    op, args = e.op, e.args
    if op == "var":
        r = state[args[0]]
    elif op == "sel":
        i = evaluate(args[0], state, memo)
        r = evaluate(args[2][args[1].index(i)], state, memo) if i in args[1] else None
    elif op == "ite":
        c = evaluate(args[0], state, memo)
        r = evaluate(args[1] if c else args[2], state, memo)
    elif op == "count":
        r = sum(1 for c in args if evaluate(c, state, memo))
    elif op in PY_OPS:
        r = PY_OPS[op](evaluate(args[0], state, memo), evaluate(args[1], state, memo))
    elif op == "isin":
        r = evaluate(args[0], state, memo) in args[1]
    elif op == "eq":
        r = evaluate(args[0], state, memo) == evaluate(args[1], state, memo)
    elif op == "lt":
        r = evaluate(args[0], state, memo) < evaluate(args[1], state, memo)
    elif op == "le":
        r = evaluate(args[0], state, memo) <= evaluate(args[1], state, memo)
    elif op == "not":
        r = not evaluate(args[0], state, memo)
    elif op == "and":
        r = all(evaluate(c, state, memo) for c in args)
    elif op == "or":
        r = any(evaluate(c, state, memo) for c in args)
    else:
        raise ValueError(op)
    memo[e.hid] = r
    return r


def show(e: IntExpr | BoolExpr) -> str:
    """A readable rendering, for diagnostics."""
    if type(e) is not Node:
        return str(e)
    op, args = e.op, e.args
    if op == "var":
        return f"x{args[0]}"
    if op == "sel":
        body = ", ".join(f"{k}: {show(v)}" for k, v in zip(args[1], args[2], strict=True))
        return f"sel({show(args[0])}, {{{body}}})"
    if op == "isin":
        vals = sorted(args[1])
        return f"{show(args[0])} == {vals[0]}" if len(vals) == 1 else f"{show(args[0])} in {vals}"
    if op == "not":
        return f"!({show(args[0])})"
    if op in ("and", "or"):
        return "(" + f" {op} ".join(show(a) for a in args) + ")"
    if op == "count":
        return "count(" + ", ".join(show(a) for a in args) + ")"
    return f"{op}({', '.join(show(a) for a in args)})"
