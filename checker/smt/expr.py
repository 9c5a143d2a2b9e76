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

`Knowledge` is what a path has learnt from its decisions: the values an
expression may still take (`allowed`) and the truth of conditions. `reduce`
rewrites an expression with it, `values` bounds it.
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


_PY = {
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
    fn = _PY[op]
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
    elif op in _PY:
        r = _PY[op](evaluate(args[0], state, memo), evaluate(args[1], state, memo))
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


# ---- what a path knows ---------------------------------------------------------------


_SUPPORT: dict[int, frozenset[int]] = {}


def support(e: Node) -> frozenset[int]:
    """The ids of e and of every node under it."""
    got = _SUPPORT.get(e.hid)
    if got is None:
        acc = {e.hid}
        for a in e.args:
            if type(a) is Node:
                acc |= support(a)
            elif type(a) is tuple:
                for b in a:
                    if type(b) is Node:
                        acc |= support(b)
        got = _SUPPORT[e.hid] = frozenset(acc)
    return got


class Knowledge:
    """The values expressions may take and the conditions decided, on one path.

    `domain[k]` bounds byte k of the state (the type of the field, from the
    layout; checker/smt/relation.py proves it is kept). Everything else is
    learnt from decisions."""

    __slots__ = ("domain", "allowed", "truth", "touched", "_red", "_vals", "_static")

    def __init__(self, domain: list[frozenset[int]]):
        self.domain = domain
        self.allowed: dict[Node, frozenset[int]] = {}
        self.truth: dict[Node, bool] = {}
        self.touched: set[int] = set()  # ids of the nodes the path knows something about
        self._red: dict[int, object] = {}
        self._vals: dict[int, frozenset[int] | None] = {}
        self._static: dict[int, frozenset[int] | None] = {}  # values knowing nothing

    def copy(self) -> Knowledge:
        k = Knowledge.__new__(Knowledge)
        k.domain = self.domain
        k.allowed = dict(self.allowed)
        k.truth = dict(self.truth)
        k.touched = set(self.touched)
        k._red = {}
        k._vals = {}
        k._static = self._static
        return k

    def meet(self, others: list[Knowledge]) -> Knowledge:
        """What this path and all the others know alike."""
        k = self.copy()
        for o in others:
            k.allowed = {x: v | o.allowed[x] for x, v in k.allowed.items() if x in o.allowed}
            k.truth = {c: v for c, v in k.truth.items() if o.truth.get(c) is v}
        k.touched = {x.hid for x in k.allowed} | {c.hid for c in k.truth}
        return k

    def _untouched(self, e: Node) -> bool:
        return not self.touched or self.touched.isdisjoint(support(e))

    # The set of values e may take, or None when unbounded (too many).
    def values(self, e: IntExpr) -> frozenset[int] | None:
        if type(e) is not Node:
            return frozenset((e,))
        cache = self._static if self._untouched(e) else self._vals
        got = cache.get(e.hid, False)
        if got is not False:
            return got  # type: ignore[return-value]  # a cached set, or None
        op, args = e.op, e.args
        r: frozenset[int] | None
        if op == "var":
            r = self.domain[args[0]]
        elif op == "sel":
            iv = self.values(args[0])
            acc: set[int] = set()
            r = None
            for k, v in zip(args[1], args[2], strict=True):
                if iv is not None and k not in iv:
                    continue
                vv = self.values(v)
                if vv is None:
                    break
                acc |= vv
            else:
                r = frozenset(acc)
        elif op == "ite":
            c = self.reduce(args[0])
            if type(c) is bool:
                r = self.values(args[1] if c else args[2])
            else:
                a, b = self.values(args[1]), self.values(args[2])
                r = None if a is None or b is None else a | b
        elif op == "count":
            truths = [self.reduce(c) for c in args]
            sure = sum(1 for c in truths if c is True)
            open_ = sum(1 for c in truths if type(c) is not bool)
            r = frozenset(range(sure, sure + open_ + 1))
        else:
            a, b = self.values(args[0]), self.values(args[1])
            if a is None or b is None or len(a) * len(b) > 4096:
                r = None
            else:
                fn = _PY[op]
                try:
                    r = frozenset(fn(x, y) for x in a for y in b)
                except (ZeroDivisionError, ValueError):
                    r = None
                if r is not None and len(r) > 512:
                    r = None
        known = self.allowed.get(e)
        if known is not None:
            r = known if r is None else r & known
        cache[e.hid] = r
        return r

    def reduce(self, e):
        """e rewritten with what the path knows (a constant when determined)."""
        if type(e) is not Node:
            return e
        got = self._red.get(e.hid)
        if got is not None:
            return got
        if self._untouched(e) and (e.op != "var" or len(self.domain[e.args[0]]) > 1):
            return e
        r = self._reduce(e)
        self._red[e.hid] = r
        return r

    def _reduce(self, e: Node):
        op, args = e.op, e.args
        if e.sort == INT:
            known = self.allowed.get(e)
            if known is not None and len(known) == 1:
                return next(iter(known))
            if op == "var":
                d = self.domain[args[0]]
                return next(iter(d)) if len(d) == 1 else e
            if op == "sel":
                idx = self.reduce(args[0])
                iv = self.values(idx)
                pairs = [
                    (k, self.reduce(v))
                    for k, v in zip(args[1], args[2], strict=True)
                    if iv is None or k in iv
                ]
                if not pairs:
                    return e  # infeasible here; left as it is
                r = sel(idx, tuple(k for k, _ in pairs), tuple(v for _, v in pairs))
            elif op == "ite":
                c = self.reduce(args[0])
                if type(c) is bool:
                    return self.reduce(args[1] if c else args[2])
                r = ite(c, self.reduce(args[1]), self.reduce(args[2]))
            elif op == "count":
                r = count(tuple(self.reduce(c) for c in args))
            else:
                r = arith(op, self.reduce(args[0]), self.reduce(args[1]))
            if type(r) is Node:
                v = self.values(r)
                if v is not None and len(v) == 1:
                    return next(iter(v))
            return r
        t = self.truth.get(e)
        if t is not None:
            return t
        if op == "isin":
            x = self.reduce(args[0])
            v = self.values(x)
            s = args[1]
            if v is not None:
                if v <= s:
                    return True
                if not (v & s):
                    return False
            r = isin(x, s)
        elif op in ("eq", "lt", "le"):
            a, b = self.reduce(args[0]), self.reduce(args[1])
            r = {"eq": eq, "lt": lt, "le": le}[op](a, b)
            if type(r) is Node and r.op in ("lt", "le"):
                r = self._compare_by_values(r)
        elif op == "not":
            r = not_(self.reduce(args[0]))
        elif op == "and":
            r = and_(*(self.reduce(c) for c in args))
        else:
            r = or_(*(self.reduce(c) for c in args))
        if type(r) is Node and r is not e:
            t = self.truth.get(r)
            if t is not None:
                return t
        return r

    def _compare_by_values(self, r: Node) -> BoolExpr:
        a, b = r.args
        va, vb = self.values(a), self.values(b)
        if va is None or vb is None or len(va) * len(vb) > 4096:
            return r
        fn = operator.lt if r.op == "lt" else operator.le
        outs = {fn(x, y) for x in va for y in vb}
        if len(outs) == 1:
            return outs.pop()
        if type(b) is not Node:  # a compared with a constant: a set of values
            return isin(a, frozenset(x for x in va if fn(x, b)))
        if type(a) is not Node:
            return isin(b, frozenset(y for y in vb if fn(a, y)))
        return r

    def learn(self, c: BoolExpr, value: bool) -> None:
        """The path decided that c is `value`."""
        if type(c) is bool:
            return
        self._red.clear()
        self._vals.clear()
        self._learn(c, value)
        self._red.clear()
        self._vals.clear()

    def _learn(self, c: Node, value: bool) -> None:
        self.truth[c] = value
        self.touched.add(c.hid)
        op = c.op
        if op == "not":
            self._learn(c.args[0], not value)
        elif op == "isin":
            x, s = c.args
            v = self.values(x)
            if value:
                new = s if v is None else v & s
            elif v is not None:
                new = v - s
            else:
                return
            self.allowed[x] = new
            self.touched.add(x.hid)
            self._vals.clear()
            self._red.clear()
        elif (op == "and" and value) or (op == "or" and not value):
            for a in c.args:
                self._learn(a, value)
