"""What a path knows about the symbolic expressions (checker/smt/expr.py).

`Knowledge` is what a path has learnt from its decisions: the values an
expression may still take (`allowed`) and the truth of conditions. `reduce`
rewrites an expression with it, `values` bounds it.
"""

from __future__ import annotations

import operator

from checker.smt.expr import (
    INT,
    PY_OPS,
    BoolExpr,
    IntExpr,
    Node,
    and_,
    arith,
    count,
    eq,
    isin,
    ite,
    le,
    lt,
    not_,
    or_,
    sel,
)

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
                fn = PY_OPS[op]
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
