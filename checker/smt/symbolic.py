"""Running the model's own code over symbolic values, one path at a time.

The steps (model/*.py) and the properties (specs/) read and write `s`, a
list of small ints indexed through the layout (`s[L.runnext[p]]`). Here `s`
is a `SymState` whose slots hold expressions (checker/smt/expr.py), and the
values read from it are proxies (`Sym`, `SymBool`): arithmetic and
comparisons on them build expressions. Where Python needs a concrete answer
— `if`, `and`, `not`, `in`, a proxy used as a list index, `range(proxy)`,
a dict key — the proxy asks the path: a decision the path has not taken
yet forks it. `enumerate_paths` runs a function again for every sequence of
decisions (depth first over the decision prefixes) and returns each path:
its guard (the conjunction of its decisions), its result, and the state it
left.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checker.smt.expr import (
    BOOL,
    INT,
    Knowledge,
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


class Undefined(Exception):
    """The concrete model fails on this path (an index out of range...)."""


class Unsupported(Exception):
    """A construct the proxies cannot follow: the symbolic engine needs work."""


class Infeasible(Exception):
    """An assumption contradicts what the path knows."""


class PathExplosion(Exception):
    """More paths than the limit: the model code needs restructuring here."""


class Path:
    """The path being run: what it knows, its decisions, its guard."""

    __slots__ = ("know", "guard", "forced", "taken", "pending", "exprs")

    def __init__(self, know: Knowledge, forced: list[int]):
        self.know = know
        self.guard: list = []
        self.forced = forced
        self.taken: list[int] = []
        self.pending: list[list[int]] = []
        self.exprs: list[tuple[Any, str]] = []

    def fork(self, n: int) -> int:
        pos = len(self.taken)
        if pos < len(self.forced):
            i = self.forced[pos]
        else:
            i = 0
            for j in range(n - 1, 0, -1):
                self.pending.append(self.taken + [j])
        self.taken.append(i)
        return i


_PATH: list[Path] = []


def path() -> Path:
    if not _PATH:
        raise Unsupported("a symbolic value was used outside enumerate_paths")
    return _PATH[-1]


def decide(c) -> bool:
    """The truth of condition c on this path, forking if it is still open."""
    p = path()
    c = p.know.reduce(c)
    if type(c) is bool:
        return c
    val = p.fork(2) == 0
    p.know.learn(c, val)
    p.guard.append(c if val else not_(c))
    return val


def assume(c) -> None:
    """Restrict the path to c (no fork)."""
    p = path()
    c = p.know.reduce(c)
    if c is True:
        return
    if c is False:
        raise Infeasible
    p.know.learn(c, True)
    p.guard.append(c)


def concretize(e) -> int:
    """A concrete value for e, forking over the values it may take."""
    p = path()
    e = p.know.reduce(e)
    if type(e) is not Node:
        return int(e)
    vals = p.know.values(e)
    if vals is None:
        raise Unsupported(f"a symbolic value with unbounded range used as an int: {e!r}")
    options = sorted(vals)
    if len(options) == 1:
        return options[0]
    v = options[p.fork(len(options))]
    c = isin(e, frozenset((v,)))
    p.know.learn(c, True)
    p.guard.append(c)
    return v


def placeholder(e, kind: str) -> str:
    p = path()
    p.exprs.append((e, kind))
    return f"\x00{len(p.exprs) - 1}\x00"


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


# ---- enumerating the paths of a function ------------------------------------------------

OK, UNDEFINED, EXPLAINED, INFEASIBLE = "ok", "undefined", "explained", "infeasible"


class Explained(Exception):
    """A check reached the code that explains a violation: it fails on this path."""


@dataclass
class PathResult:
    guard: tuple  # conjuncts (bool expressions)
    kind: str  # OK, UNDEFINED, EXPLAINED or INFEASIBLE (an empty region)
    value: Any  # what the function returned (OK)
    exprs: list = field(default_factory=list)  # the placeholders in `value`
    why: str = ""  # UNDEFINED: what failed
    know: Knowledge | None = None  # what the path knew at its end


def enumerate_paths(
    run: Callable[[], Any], know: Knowledge, limit: int = 200_000
) -> list[PathResult]:
    """Every path of `run()`: depth first over the decision prefixes."""
    out: list[PathResult] = []
    stack: list[list[int]] = [[]]
    while stack:
        forced = stack.pop()
        p = Path(know.copy(), forced)
        _PATH.append(p)
        try:
            value = run()
            res = PathResult(tuple(p.guard), OK, value, p.exprs, know=p.know)
        except Infeasible:
            res = PathResult(tuple(p.guard), INFEASIBLE, None)
        except Explained:
            res = PathResult(tuple(p.guard), EXPLAINED, None, p.exprs)
        except (Undefined, IndexError, AssertionError) as e:
            res = PathResult(tuple(p.guard), UNDEFINED, None, p.exprs, f"{type(e).__name__}: {e}")
        finally:
            _PATH.pop()
        out.append(res)
        stack.extend(p.pending)
        if len(out) > limit:
            raise PathExplosion(f"more than {limit} paths")
    return out


class _DontCare:
    """The value of a region no state is in (an infeasible path)."""

    def __repr__(self) -> str:
        return "dont-care"


DONT_CARE = _DontCare()
_END = object()


def fold_paths(results: list[PathResult], leaf: Callable[..., Any], sort: str) -> Any:
    """One expression for a value that depends on the path: `leaf(r)` on each
    path r (DONT_CARE for an empty region).

    The paths are the leaves of a decision tree (they share the decisions of
    their common prefix), so the expression is built bottom-up over that
    tree: a decision whose branches agree disappears, and a condition over
    paths is as small as the tree, not a disjunction over every path."""
    root: dict = {}
    for r in results:
        v = DONT_CARE if r.kind == INFEASIBLE else leaf(r)
        node = root
        for c in r.guard:
            node = node.setdefault(c, {})
        if _END in node or (node and _END not in node):
            raise Unsupported("two paths with one guard: a fork without a condition")
        node[_END] = v
    return _fold_node(root, sort)


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is not Node and type(b) is not Node and a == b and type(a) is type(b))


def _fold_node(node: dict, sort: str) -> Any:
    if _END in node:
        return node[_END]
    if len(node) == 1:
        # An assumption, not a fork: outside it the value is not this one.
        ((c, ch),) = node.items()
        v = _fold_node(ch, sort)
        if sort == BOOL and v is not DONT_CARE:
            return and_(c, v)
        return v
    items = [(c, _fold_node(ch, sort)) for c, ch in node.items()]
    items = [(c, v) for c, v in items if v is not DONT_CARE]
    if not items:
        return DONT_CARE
    first = items[0][1]
    if all(_same(v, first) for _, v in items[1:]):
        return first
    if sort == BOOL:
        if len(items) == 2 and items[1][0] is not_(items[0][0]):
            (c, a), (_, b) = items
            if a is True:
                return or_(c, b)
            if b is True:
                return or_(not_(c), a)
        return or_(*(c if v is True else and_(c, v) for c, v in items if v is not False))
    out = items[-1][1]
    for c, v in reversed(items[:-1]):
        out = ite(c, v, out)
    return out


def call_folded(fn: Callable, *args: Any) -> Any:
    """fn(*args) for a helper marked `foldable` (model.machine.foldable): all
    its paths are enumerated from here and folded into one result (ints and
    conditions as if-then-else expressions) and one state (each slot a path
    wrote becomes an if-then-else over the paths), so the caller goes on
    along one path instead of one per way through fn."""
    p = path()
    states = [a for a in args if type(a) is SymState]
    before = [list(a.v) for a in states]

    def run():
        for a, v in zip(states, before, strict=True):
            a.v[:] = v
        return fn(*args), [list(a.v) for a in states]

    # A path is re-run for every decision prefix: the same call with the same
    # knowledge comes back many times.
    key = (fn, tuple(p.guard), tuple(_arg_key(a) for a in args))
    results = _FOLDED.get(key)
    if results is None:
        results = _FOLDED[key] = enumerate_paths(run, p.know)
    for a, v in zip(states, before, strict=True):
        a.v[:] = v
    for kind, exc in ((UNDEFINED, Undefined), (EXPLAINED, Explained)):
        if any(r.kind == kind for r in results):
            where = fold_paths(results, lambda r, kind=kind: r.kind == kind, BOOL)
            if where is not DONT_CARE and decide(where):
                raise exc(next(r.why for r in results if r.kind == kind))
    ok = [r for r in results if r.kind == OK]
    if not ok:
        raise Infeasible

    def value(r: PathResult, get: Callable[[Any], Any]) -> Any:
        return get(r.value) if r.kind == OK else DONT_CARE

    for i, a in enumerate(states):
        for k, old in enumerate(before[i]):
            if any(r.value[1][i][k] is not old for r in ok):
                a.v[k] = fold_paths(
                    results, lambda r, i=i, k=k: value(r, lambda v: v[1][i][k]), INT
                )
                a.writes += 1
    return _fold_value(results, ok, lambda v: v[0], fn)


def _fold_value(results: list, ok: list, get: Callable[[Any], Any], fn: Callable) -> Any:
    vals = [get(r.value) for r in ok]
    first = vals[0]
    if type(first) is tuple:
        if any(type(v) is not tuple or len(v) != len(first) for v in vals):
            raise Unsupported(f"{fn.__name__} is foldable but returns tuples of several shapes")
        return tuple(
            _fold_value(results, ok, lambda v, i=i: get(v)[i], fn)  # type: ignore[misc]  # i bound
            for i in range(len(first))
        )

    def leaf(r: PathResult, conv: Callable[[Any], Any]) -> Any:
        return conv(get(r.value)) if r.kind == OK else DONT_CARE

    if all(type(v) is bool or type(v) is SymBool for v in vals):
        return wrap(fold_paths(results, lambda r: leaf(r, _bool_operand), BOOL))
    if any(expr_of(v) is None for v in vals) or any(type(v) is bool for v in vals):
        raise Unsupported(f"{fn.__name__} is foldable but returns {first!r}")
    return wrap(fold_paths(results, lambda r: leaf(r, expr_of), INT))


_FOLDED: dict[tuple, list[PathResult]] = {}


def _arg_key(a: Any) -> Any:
    t = type(a)
    if t is SymState:
        return tuple(a.v)
    if t is Sym or t is SymBool:
        return a.e
    if t is int or t is bool or t is str or a is None:
        return a
    return id(a)


def clear_caches() -> None:
    _FOLDED.clear()


def folding(fn: Callable) -> Callable:
    """fn, evaluated with `call_folded` when it is called."""

    def call(*args: Any) -> Any:
        return call_folded(fn, *args)

    call.__name__ = getattr(fn, "__name__", "folded")
    return call


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


def render(template: str, exprs: list, value_of: Callable[[Any], Any]) -> str:
    """Fill a label's placeholders with the values `value_of` gives their expressions."""
    if "\x00" not in template:
        return template
    parts = template.split("\x00")
    for i in range(1, len(parts), 2):
        e, kind = exprs[int(parts[i])]
        v = value_of(e)
        if kind == BOOL:
            parts[i] = str(bool(v))
        elif kind == INT:
            parts[i] = str(v)
        else:
            parts[i] = str(kind[v])
    return "".join(parts)
