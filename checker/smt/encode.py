"""Expressions (checker/smt/expr.py) as z3 terms.

A state is a vector of 8-bit z3 bit-vectors; integer expressions are
16-bit (zero-extended bytes), wide enough for every intermediate value a
step or a check computes (sums of flags, 2*nmspinning, a tick plus one),
with signed comparisons so that a difference below zero compares as in
Python. A value written to the state is cut back to its low byte.

`var(k)` is byte k of the current state for k < size and byte k - size of
the next state above (action properties read both). The encoder builds a
term once over the template variables `x`/`y`; the engines place it at a
depth with `z3.substitute`.
"""

from __future__ import annotations

from typing import Any

import z3

from checker.smt.expr import Node

W = 16


def _consecutive(vals: list[int]) -> bool:
    return vals[-1] - vals[0] == len(vals) - 1


class Encoder:
    def __init__(self, size: int, ctx: z3.Context | None = None):
        self.size = size
        self.ctx = ctx
        self.x = [z3.BitVec(f"x{k}", 8, ctx) for k in range(size)]
        self.y = [z3.BitVec(f"y{k}", 8, ctx) for k in range(size)]
        self._memo: dict[int, Any] = {}
        self._narrow: dict[int, Any] = {}
        self._small: dict[int, bool] = {}

    def byte(self, k: int):
        return self.x[k] if k < self.size else self.y[k - self.size]

    def const(self, v: int):
        return z3.BitVecVal(v, W, self.ctx)

    def _byte_const(self, v: int):
        return z3.BitVecVal(v, 8, self.ctx)

    def small(self, e) -> bool:
        """e is a byte: a constant in 0..255, a state byte, or a choice among
        such (sel, ite) — no arithmetic. Bytes are encoded in 8 bits."""
        if type(e) is not Node:
            return type(e) is int and 0 <= e < 256
        got = self._small.get(e.hid)
        if got is None:
            op, a = e.op, e.args
            if op == "var":
                got = True
            elif op == "sel":
                got = self.small(a[0]) and all(self.small(v) for v in a[2])
            elif op == "ite":
                got = self.small(a[1]) and self.small(a[2])
            else:
                got = False
            self._small[e.hid] = got
        return got

    def narrow(self, e):
        """An 8-bit term for a byte expression (see `small`)."""
        if type(e) is not Node:
            return self._byte_const(int(e))
        got = self._narrow.get(e.hid)
        if got is not None:
            return got
        op, a = e.op, e.args
        if op == "var":
            r = self.byte(a[0])
        elif op == "sel":
            idx, keys, vals = a
            r = self.narrow(vals[-1])
            for k, v in zip(reversed(keys[:-1]), reversed(vals[:-1]), strict=True):
                r = z3.If(self._is(idx, [k]), self.narrow(v), r)
        else:  # ite
            r = z3.If(self.bool_term(a[0]), self.narrow(a[1]), self.narrow(a[2]))
        self._narrow[e.hid] = r
        return r

    def int_term(self, e):
        """A 16-bit term for an integer expression."""
        if type(e) is not Node:
            return self.const(int(e))
        if self.small(e):
            return z3.ZeroExt(W - 8, self.narrow(e))
        got = self._memo.get(e.hid)
        if got is not None:
            return got
        op, a = e.op, e.args
        if op == "sel":
            idx, keys, vals = a
            r = self.int_term(vals[-1])
            for k, v in zip(reversed(keys[:-1]), reversed(vals[:-1]), strict=True):
                r = z3.If(self._is(idx, [k]), self.int_term(v), r)
        elif op == "ite":
            r = z3.If(self.bool_term(a[0]), self.int_term(a[1]), self.int_term(a[2]))
        elif op == "count":
            one, zero = self.const(1), self.const(0)
            r = z3.Sum([z3.If(self.bool_term(c), one, zero) for c in a])
        else:
            x, y = self.int_term(a[0]), self.int_term(a[1])
            r = {
                "add": lambda: x + y,
                "sub": lambda: x - y,
                "mul": lambda: x * y,
                "div": lambda: z3.UDiv(x, y),
                "mod": lambda: z3.URem(x, y),
                "band": lambda: x & y,
                "bor": lambda: x | y,
                "bxor": lambda: x ^ y,
                "shl": lambda: x << y,
                "shr": lambda: z3.LShR(x, y),
            }[op]()
        self._memo[e.hid] = r
        return r

    def byte_term(self, e):
        """An 8-bit term: what a step stores."""
        if type(e) is not Node:
            return self._byte_const(int(e) & 0xFF)
        if self.small(e):
            return self.narrow(e)
        got = self._narrow.get(e.hid)
        if got is None:
            got = self._narrow[e.hid] = z3.Extract(7, 0, self.int_term(e))
        return got

    def _is(self, e, vals: list[int]):
        """e is one of vals."""
        vals = sorted(vals)
        if type(e) is not Node:
            return z3.BoolVal(e in vals, self.ctx)
        op = e.op
        if op == "count":
            return self._count_is(e, vals)
        if op == "sel":
            # A choice of values: the index picks one, which must be in vals.
            idx, keys, opts = e.args
            return z3.Or(
                [
                    z3.And(self._is(idx, [k]), self._is(v, vals))
                    for k, v in zip(keys, opts, strict=True)
                ]
            )
        if op == "ite":
            c = self.bool_term(e.args[0])
            return z3.If(c, self._is(e.args[1], vals), self._is(e.args[2], vals))
        if op == "var":
            t = self.byte(e.args[0])
            vals = [v for v in vals if 0 <= v < 256]
            if not vals:
                return z3.BoolVal(False, self.ctx)
            if len(vals) > 128:  # the complement is shorter
                out = [v for v in range(256) if v not in set(vals)]
                if not out:
                    return z3.BoolVal(True, self.ctx)
                return z3.And([t != v for v in out]) if len(out) > 1 else t != out[0]
            mk = self._byte_const
        else:
            t = self.int_term(e)
            mk = self.const
        if len(vals) == 1:
            return t == mk(vals[0])
        if _consecutive(vals):
            return z3.And(z3.UGE(t, mk(vals[0])), z3.ULE(t, mk(vals[-1])))
        return z3.Or([t == mk(v) for v in vals])

    def _count_is(self, e: Node, vals: list[int]):
        """How many of e's conditions hold is one of vals: cardinality
        constraints, which the SAT solver handles natively."""
        cs = [(self.bool_term(c), 1) for c in e.args]
        n = len(cs)
        vals = [v for v in vals if 0 <= v <= n]
        if not vals:
            return z3.BoolVal(False, self.ctx)
        if vals == list(range(n + 1)):
            return z3.BoolVal(True, self.ctx)
        if _consecutive(vals):
            lo, hi = vals[0], vals[-1]
            parts = []
            if lo > 0:
                parts.append(z3.PbGe(cs, lo))
            if hi < n:
                parts.append(z3.PbLe(cs, hi))
            return z3.And(parts) if len(parts) > 1 else parts[0]
        return z3.Or([z3.PbEq(cs, v) for v in vals])

    def _compare(self, op: str, a, b):
        if self.small(a) and self.small(b):
            x, y = self.narrow(a), self.narrow(b)
            if op == "eq":
                return x == y
            return z3.ULT(x, y) if op == "lt" else z3.ULE(x, y)
        x, y = self.int_term(a), self.int_term(b)
        if op == "eq":
            return x == y
        return x < y if op == "lt" else x <= y

    def bool_term(self, e):
        if type(e) is bool:
            return z3.BoolVal(e, self.ctx)
        got = self._memo.get(e.hid)
        if got is not None:
            return got
        op, a = e.op, e.args
        if op == "isin":
            r = self._is(a[0], list(a[1]))
        elif op in ("eq", "lt", "le"):
            r = self._compare(op, a[0], a[1])
        elif op == "not":
            r = z3.Not(self.bool_term(a[0]))
        elif op == "and":
            r = z3.And([self.bool_term(c) for c in a])
        elif op == "or":
            r = z3.Or([self.bool_term(c) for c in a])
        else:
            raise ValueError(f"not a condition: {op}")
        self._memo[e.hid] = r
        return r
