"""Folding the paths of a function into one expression: a value that
depends on the path becomes an if-then-else over the path's decisions
(`fold_paths`), and a helper the model marks foldable runs as one path
whose result and writes are such expressions (`call_folded`, `folding`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checker.smt.expr import BOOL, INT, Node, and_, ite, not_, or_
from checker.smt.paths import (
    EXPLAINED,
    INFEASIBLE,
    OK,
    UNDEFINED,
    Explained,
    Infeasible,
    PathResult,
    Undefined,
    Unsupported,
    decide,
    enumerate_paths,
    path,
)
from checker.smt.symbolic import Sym, SymBool, SymState, _bool_operand, expr_of, wrap


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
