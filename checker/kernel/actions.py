"""The compiled kernel's steps as Actions.

The engine interns a step by its command and the values of its label's
placeholders (engine.c `eng_label_key`). Each command's Action template
(checker/smt/actions.py) is kept with the kernel, in its metadata, as plain
data (`action_entry`): the template with its placeholders numbered in the
order the label's text has them (the order of the engine's values), and
each placeholder's kind. `action_of` makes the step's Action from an entry
and the engine's values; the C tables that render the label's text are the
template's text (checker/kernel/ctables.py `label_tables`).
"""

from __future__ import annotations

from typing import Any

from checker.smt.actions import fill
from model.action import Action, Refs


def action_entry(tpl: Action, exprs: list) -> dict:
    """The template `tpl` of a command with placeholders for `exprs`, as data."""
    holes = str(tpl).split("\x00")[1::2]
    order: dict[str, int] = {}
    for h in holes:
        order.setdefault(h, len(order))
    kinds = [exprs[int(h)][1] for h in order]

    def renumber(v: Any) -> Any:
        if isinstance(v, Refs):
            return {"refs": [[[k, renumber(n)] for k, n in group] for group in v]}
        if isinstance(v, tuple):
            return [renumber(x) for x in v]
        if isinstance(v, str) and "\x00" in v:
            parts = v.split("\x00")
            parts[1::2] = [str(order[h]) for h in parts[1::2]]
            return "\x00".join(parts)
        return v

    steps = [
        [renumber(a.procedure), [[k, renumber(v)] for k, v in a.args], renumber(a.tail), a.sep]
        + [a.plain]
        for a in tpl.steps()
    ]
    return {
        "steps": steps,
        "kinds": [k if isinstance(k, str) else [str(n) for n in k] for k in kinds],
        "holes": [order[h] for h in holes],
    }


def _template(entry: dict) -> Action:
    def value(v: Any) -> Any:
        if isinstance(v, dict):
            return Refs(tuple((k, value(n)) for k, n in group) for group in v["refs"])
        return tuple(value(x) for x in v) if isinstance(v, list) else v

    first, *rest = (
        Action.make(proc, tuple((k, value(v)) for k, v in args), tail, sep, plain)
        for proc, args, tail, sep, plain in entry["steps"]
    )
    return Action.make(*first[:5], tuple(rest)) if rest else first


def label_action(lib: Any, ffi: Any, e: Any, meta: dict, lid: int) -> tuple[int, Action]:
    """(actor, action) of the engine `e`'s label id `lid`."""
    cap = 64
    buf = ffi.new("int64_t[]", cap)
    need = lib.eng_label_key(e, lid, buf, cap)
    if need > cap:
        buf = ffi.new("int64_t[]", need)
        lib.eng_label_key(e, lid, buf, need)
    words = [int(buf[i]) for i in range(need)]
    commands = meta["commands"]
    steps, i = [], 0
    while i < len(words):
        n = words[i]
        cmd, vals = words[i + 1], words[i + 2 : i + 1 + n]
        steps.append(action_of(commands[cmd]["action"], vals))
        i += 1 + n
    first, *rest = steps
    action = Action.make(*first[:5], tuple(rest)) if rest else first
    return commands[words[1]]["actor"], action


def action_of(entry: dict, vals: list[int]) -> Action:
    """The Action of a step of the command `entry` whose label's values (in
    the text's order, as the engine keeps them) are `vals`."""
    by_hole: dict[int, int] = {}
    for i, h in enumerate(entry["holes"]):
        by_hole.setdefault(h, vals[i])
    exprs = [(i, kind) for i, kind in enumerate(entry["kinds"])]
    return fill(_template(entry), exprs, by_hole.__getitem__)
