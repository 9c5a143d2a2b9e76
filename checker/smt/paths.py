"""The paths of a function run over symbolic values (checker/smt/symbolic.py).

A path is one sequence of decisions: where the model's code needs a
concrete answer about a symbolic value, `decide`, `assume` and
`concretize` ask the path being run, which forks when the answer is still
open. `enumerate_paths` runs a function again for every sequence of
decisions (depth first over the decision prefixes) and returns each path:
its guard (the conjunction of its decisions), its result, and the state it
left. A value shown in a label is a placeholder of the path, filled in by
`render`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checker.smt.expr import BOOL, INT, Node, isin, not_
from checker.smt.knowledge import Knowledge


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
