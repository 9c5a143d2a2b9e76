"""A step's Action with symbolic arguments: a template, and the concrete
Action it is in a state.

A step run on a symbolic state (checker/smt/relation.py) returns an Action
whose arguments may be symbolic ints or bools, or text that names one (a
semaphore's name looked up by a symbolic index). `template` turns each into
a placeholder of the path (checker/smt/paths.py `placeholder`), so that
the step's command keeps an Action whose text is its label template (what
the compiled kernel renders from, checker/kernel/ctables.py); `fill` gives
the Action the step takes in a state from the placeholders' values, as the
model's own step would return it: an int where it passed an int, text where
it passed text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checker.smt.expr import BOOL, INT
from checker.smt.paths import render
from model.action import Action, Refs


def _frozen(v: Any) -> Any:
    if isinstance(v, int | str):
        return v
    if isinstance(v, Refs):
        return Refs(tuple((k, _frozen(n)) for k, n in group) for group in v)
    if isinstance(v, tuple | list):
        return tuple(_frozen(x) for x in v)
    return str(v)  # a symbolic value: its placeholder


def template(action: Action) -> Action:
    """`action` with every symbolic argument a placeholder of the current
    path; call it on the path that returned the action."""
    steps = [
        Action.make(a.procedure, tuple((k, _frozen(v)) for k, v in a.args), a.tail, a.sep, a.plain)
        for a in action.steps()
    ]
    first, *rest = steps
    return Action.make(*first[:5], tuple(rest)) if rest else first


def fill(tpl: Action, exprs: list, value_of: Callable[[Any], Any]) -> Action:
    """The Action `tpl` (a template) stands for where the placeholders'
    expressions have the values `value_of` gives."""

    def one(v: Any) -> Any:
        if isinstance(v, Refs):
            return Refs(tuple((k, one(n)) for k, n in group) for group in v)
        if isinstance(v, tuple):
            return tuple(one(x) for x in v)
        if not isinstance(v, str) or "\x00" not in v:
            return v
        parts = v.split("\x00")
        if len(parts) == 3 and parts[0] == parts[2] == "":
            e, kind = exprs[int(parts[1])]
            x = value_of(e)
            if kind == INT:
                return int(x)
            if kind == BOOL:
                return bool(x)
            return str(kind[x])
        return render(v, exprs, value_of)

    steps = [
        Action.make(
            render(a.procedure, exprs, value_of),
            tuple((k, one(v)) for k, v in a.args),
            render(a.tail, exprs, value_of),
            a.sep,
            a.plain,
        )
        for a in tpl.steps()
    ]
    first, *rest = steps
    return Action.make(*first[:5], tuple(rest)) if rest else first
