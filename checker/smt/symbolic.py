"""Running the model's own code over symbolic values, one path at a time.

The steps (model/*.py) and the properties (specs/) read and write `s`, a
list of small ints indexed through the layout (`s[L.runnext[p]]`). Here `s`
is a `SymState` whose slots hold expressions (checker/smt/expr.py), and the
values read from it are proxies (`Sym`, `SymBool`): arithmetic and
comparisons on them build expressions. Where Python needs a concrete answer
— `if`, `and`, `not`, `in`, a proxy used as a list index, `range(proxy)`,
a dict key — the proxy asks the path (checker/smt/paths.py): a decision
the path has not taken yet forks it. `enumerate_paths` there runs a
function again for every sequence of decisions and returns each path, and
checker/smt/fold.py folds the paths into one expression.

Three substitutes let the model's code index with symbolic values without
forking at every lookup: `SymTable` stands for the layout's offset lists
and the workload's instruction tables (a lookup with a symbolic index is a
`sel` expression), `SymState` reads and writes through such an index
(every slot it may name), and `SymTuple` stands for the tuples the
properties count in (`refs.count(g)` is a sum, not a fork per element).

A path on which the concrete model would fail (an index out of range, an
assertion) is kept as `undefined`: relation.py proves no reachable state
takes one.
"""

from __future__ import annotations

import operator
from typing import Any

from checker.smt.expr import (
    BOOL,
    INT,
    Node,
    and_,
    arith,
    b2i,
    eq,
    isin,
    ite,
    le,
    lt,
    not_,
    or_,
    sel,
)
from checker.smt.paths import Undefined, Unsupported, concretize, decide, path, placeholder

# ---- proxies ------------------------------------------------------------------------


def expr_of(x) -> Any:
    """The expression of an int-like operand, or None if it is not one."""
    t = type(x)
    if t is int:
        return x
    if t is Sym:
        return x.e
    if t is bool:
        return int(x)
    if t is SymBool:
        return b2i(x.e)
    if isinstance(x, int):
        return int(x)  # IntEnum members (PC, Op)
    return None


def wrap(e):
    """A proxy for e, or its value if the path knows it (a shallow look: the
    deep rewriting happens where a decision needs it)."""
    if type(e) is not Node:
        return e
    k = path().know
    if e.sort == INT:
        a = k.allowed.get(e)
        if a is None and e.op == "var":
            a = k.domain[e.args[0]]
        if a is not None and len(a) == 1:
            return next(iter(a))
        return Sym(e)
    t = k.truth.get(e)
    return SymBool(e) if t is None else t


def _binop(op: str):
    def fwd(self, other):
        o = expr_of(other)
        if o is None:
            return NotImplemented
        return wrap(arith(op, self.e, o))

    def rev(self, other):
        o = expr_of(other)
        if o is None:
            return NotImplemented
        return wrap(arith(op, o, self.e))

    return fwd, rev


class Sym:
    """A symbolic int (a byte of the state, or arithmetic on bytes)."""

    __slots__ = ("e",)

    def __init__(self, e: Node):
        self.e = e

    __add__, __radd__ = _binop("add")
    __sub__, __rsub__ = _binop("sub")
    __mul__, __rmul__ = _binop("mul")
    __floordiv__, __rfloordiv__ = _binop("div")
    __mod__, __rmod__ = _binop("mod")
    __and__, __rand__ = _binop("band")
    __or__, __ror__ = _binop("bor")
    __xor__, __rxor__ = _binop("bxor")
    __lshift__, __rlshift__ = _binop("shl")
    __rshift__, __rrshift__ = _binop("shr")

    def __neg__(self):
        return wrap(arith("sub", 0, self.e))

    def _cmp(self, other, fn, swap=False):
        o = expr_of(other)
        if o is None:
            return NotImplemented
        return wrap(fn(o, self.e) if swap else fn(self.e, o))

    def __eq__(self, other):
        return self._cmp(other, eq)

    def __ne__(self, other):
        r = self._cmp(other, eq)
        return r if r is NotImplemented else _not(r)

    def __lt__(self, other):
        return self._cmp(other, lt)

    def __le__(self, other):
        return self._cmp(other, le)

    def __gt__(self, other):
        return self._cmp(other, lt, swap=True)

    def __ge__(self, other):
        return self._cmp(other, le, swap=True)

    def __bool__(self) -> bool:
        return decide(not_(eq(self.e, 0)))

    def __index__(self) -> int:
        return concretize(self.e)

    __int__ = __index__

    def __hash__(self) -> int:
        return hash(concretize(self.e))

    def __format__(self, spec: str) -> str:
        if spec:
            raise Unsupported(f"format spec {spec!r} on a symbolic value")
        return placeholder(self.e, INT)

    def __str__(self) -> str:
        return placeholder(self.e, INT)

    __repr__ = __str__


def _not(x):
    return not x if type(x) is bool else SymBool(not_(x.e))


def _bool_operand(x):
    if type(x) is bool:
        return x
    if type(x) is SymBool:
        return x.e
    return None


class SymBool:
    """A symbolic condition."""

    __slots__ = ("e",)

    def __init__(self, e: Node):
        self.e = e

    def __bool__(self) -> bool:
        return decide(self.e)

    def _logic(self, other, fn):
        b = _bool_operand(other)
        if b is not None:
            return wrap(fn(self.e, b))
        o = expr_of(other)
        if o is None:
            return NotImplemented
        op = {and_: "band", or_: "bor"}.get(fn)
        if op is None:
            return NotImplemented
        return wrap(arith(op, b2i(self.e), o))

    def __and__(self, other):
        return self._logic(other, and_)

    __rand__ = __and__

    def __or__(self, other):
        return self._logic(other, or_)

    __ror__ = __or__

    def __eq__(self, other):
        b = _bool_operand(other)
        if b is not None:
            return wrap(or_(and_(self.e, b), and_(not_(self.e), not_(b))))
        o = expr_of(other)
        return NotImplemented if o is None else wrap(eq(b2i(self.e), o))

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else _not(r)

    def _arith(op: str):  # type: ignore[misc]  # noqa: N805 - a helper building methods
        def fwd(self, other):
            o = expr_of(other)
            return NotImplemented if o is None else wrap(arith(op, b2i(self.e), o))

        def rev(self, other):
            o = expr_of(other)
            return NotImplemented if o is None else wrap(arith(op, o, b2i(self.e)))

        return fwd, rev

    __add__, __radd__ = _arith("add")
    __sub__, __rsub__ = _arith("sub")
    __mul__, __rmul__ = _arith("mul")

    def __index__(self) -> int:
        return 1 if decide(self.e) else 0

    __int__ = __index__

    def __hash__(self) -> int:
        return hash(decide(self.e))

    def __format__(self, spec: str) -> str:
        if spec:
            raise Unsupported(f"format spec {spec!r} on a symbolic condition")
        return placeholder(self.e, BOOL)

    def __str__(self) -> str:
        return placeholder(self.e, BOOL)

    __repr__ = __str__


def _index(x) -> int:
    return x if type(x) is int else operator.index(x)


class Mode:
    """How a symbolic index is followed: as a `sel` over the values it may
    take (compact, used for the properties), or by forking the path on its
    value (`split`: many small commands, which the SAT solver handles far
    better than if-then-else chains; used for the steps)."""

    split = False


def _lookup(base: list[int], e) -> Any:
    """base[e] for a symbolic e: a `sel` over the indexes e may take."""
    p = path()
    e = p.know.reduce(e)
    if type(e) is not Node:
        return base[e]
    if Mode.split:
        v = concretize(e)
        if not 0 <= v < len(base):
            raise Undefined("index out of range")
        return base[v]
    vals = p.know.values(e)
    if vals is None:
        raise Unsupported(f"a symbolic index with unbounded range: {e!r}")
    n = len(base)
    valid = frozenset(v for v in vals if 0 <= v < n)
    if valid != vals and not decide(isin(e, valid)):
        raise Undefined("index out of range")
    keys = tuple(sorted(valid))
    if len(keys) == 1:
        return base[keys[0]]
    return wrap(sel(e, keys, tuple(base[k] for k in keys)))


class SymTable:
    """A list of constants (layout offsets, instruction tables) that a symbolic
    index can look up."""

    __slots__ = ("base",)

    def __init__(self, base: list[int]):
        self.base = base

    def __getitem__(self, i):
        t = type(i)
        if t is int:
            return self.base[i]
        if t is Sym:
            return _lookup(self.base, i.e)
        if t is SymBool:
            return _lookup(self.base, b2i(i.e))
        if t is slice:
            return self.base[i]
        return self.base[operator.index(i)]

    def __len__(self) -> int:
        return len(self.base)

    def __iter__(self):
        return iter(self.base)

    def __add__(self, other):
        return list(self.base) + list(other)

    def __radd__(self, other):
        return list(other) + list(self.base)


class SymTuple(tuple):
    """A tuple of state values that counts and tests membership symbolically."""

    def count(self, x) -> Any:  # type: ignore[override]
        o = expr_of(x)
        total: Any = 0
        for item in self:
            total = arith("add", total, b2i(eq(expr_of(item), o)))
        return wrap(total)

    def __contains__(self, x) -> Any:  # type: ignore[override]
        o = expr_of(x)
        if o is None:
            return tuple.__contains__(self, x)
        return wrap(or_(*(eq(expr_of(item), o) for item in self)))

    def __eq__(self, other) -> Any:  # type: ignore[override]
        if not isinstance(other, tuple | list) or len(other) != len(self):
            return False
        return wrap(and_(*(eq(expr_of(a), expr_of(b)) for a, b in zip(self, other, strict=True))))

    def __ne__(self, other) -> Any:  # type: ignore[override]
        r = self.__eq__(other)
        return _not(r)

    __hash__ = None  # type: ignore[assignment]


class SymSet(frozenset):
    """A constant set of ints or int tuples whose membership test is symbolic."""

    def __contains__(self, x) -> Any:  # type: ignore[override]
        if isinstance(x, tuple):
            es = [expr_of(v) for v in x]
            if None in es:
                return frozenset.__contains__(self, x)
            opts = [m for m in self if isinstance(m, tuple) and len(m) == len(es)]
            return wrap(or_(*(and_(*(eq(a, b) for a, b in zip(es, m, strict=True))) for m in opts)))
        o = expr_of(x)
        if o is None:
            return frozenset.__contains__(self, x)
        return wrap(isin(o, frozenset(v for v in self if isinstance(v, int))))


class SymState:
    """The state vector with symbolic slots: s[k], s[symbolic offset], slices."""

    __slots__ = ("v", "writes")

    def __init__(self, v):
        self.v = list(v)
        self.writes = 0

    def __len__(self) -> int:
        return len(self.v)

    def __iter__(self):
        for e in self.v:
            yield wrap(e)

    def _offsets(self, e) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
        """(index expression, its values, the offsets they name)."""
        p = path()
        e = p.know.reduce(e)
        if type(e) is not Node:
            return e, (e,), (e,)
        if Mode.split:
            v = concretize(e)
            if not 0 <= v < len(self.v):
                raise Undefined("state offset out of range")
            return v, (v,), (v,)
        if e.op == "sel" and all(type(v) is not Node for v in e.args[2]):
            idx, keys, offs = e.args
        else:
            vals = p.know.values(e)
            if vals is None:
                raise Unsupported(f"a state offset with unbounded range: {e!r}")
            idx, keys = e, tuple(sorted(vals))
            offs = keys
        n = len(self.v)
        bad = [k for k, o in zip(keys, offs, strict=True) if not 0 <= o < n]
        if bad:
            good = frozenset(keys) - frozenset(bad)
            if not decide(isin(idx, good)):
                raise Undefined("state offset out of range")
            pairs = [(k, o) for k, o in zip(keys, offs, strict=True) if k in good]
            keys, offs = tuple(k for k, _ in pairs), tuple(o for _, o in pairs)
        return idx, keys, offs

    def __getitem__(self, k):
        t = type(k)
        if t is int:
            return wrap(self.v[k])
        if t is slice:
            start = 0 if k.start is None else _index(k.start)
            stop = len(self.v) if k.stop is None else _index(k.stop)
            if k.step is not None:
                raise Unsupported("a stepped slice of the state")
            return SymTuple(wrap(self.v[i]) for i in range(start, stop))
        if t is Sym or t is SymBool:
            e = k.e if t is Sym else b2i(k.e)
            idx, keys, offs = self._offsets(e)
            if len(offs) == 1:
                return wrap(self.v[offs[0]])
            return wrap(sel(idx, keys, tuple(self.v[o] for o in offs)))
        return wrap(self.v[operator.index(k)])

    def __setitem__(self, k, value) -> None:
        self.writes += 1
        t = type(k)
        if t is slice:
            start = 0 if k.start is None else _index(k.start)
            stop = len(self.v) if k.stop is None else _index(k.stop)
            vals = list(value)
            if k.step is not None or len(vals) != stop - start:
                raise Unsupported("a slice assignment that changes the state's length")
            for i, x in zip(range(start, stop), vals, strict=True):
                self[i] = x
            return
        x = expr_of(value)
        if x is None:
            raise Unsupported(f"storing {type(value).__name__} in the state")
        if t is int:
            self.v[k] = x
            return
        if t is Sym or t is SymBool:
            e = k.e if t is Sym else b2i(k.e)
            idx, keys, offs = self._offsets(e)
            if len(offs) == 1:
                self.v[offs[0]] = x
                return
            for key, off in zip(keys, offs, strict=True):
                self.v[off] = ite(isin(idx, frozenset((key,))), x, self.v[off])
            return
        self.v[operator.index(k)] = x


class NameTable(tuple):
    """A list of names (G statuses, semaphores...) that a symbolic index
    looks up in a label or a message: the name is filled in when the label
    is rendered, without a fork per name."""

    def __getitem__(self, i):  # type: ignore[override]
        t = type(i)
        if t is Sym:
            path().exprs.append((i.e, self))
            return f"\x00{len(path().exprs) - 1}\x00"
        return tuple.__getitem__(self, i)
