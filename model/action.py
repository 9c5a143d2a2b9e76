"""Action: what a step did, as a typed value.

Every step of the model returns an Action: the procedure it ran
(`stealWork`, `sysmon.retake`) and its arguments in order, each named
(`victim=1`) or not (`sysmon`, `no work`). A step reads like the call it
stands for:

    return Action("findRunnable.globrunqget", m=m, p=p, g=g)
    return Action("startm", "sysmon", p=p, spinning=0, newm=nmp)
    return Action("findRunnable.runqget", m=m, p=p).flag("empty")

The leading unnamed arguments come before the named ones; `flag` adds one
after them, `arg` a named one whose name is not a Python name (`to m`),
`after` the text after the closing parenthesis (` throws`). A macro step
(`--steps macro`, model/machine.py) chains its fine steps (`chain`, `then`,
`steps`).

Consumers (fairness groups, lanes, wait bounds) read the fields. The text,
the label, is made only at the edge, by str(): traces, trace files, the
views, the compiled kernel's tables. Its form is fixed (traces, ITF files
and the gate's manifest hold it):

    stealWork(m=1, p=0, victim=1, gs=[2])
    startm(sysmon, p=0, spinning=0, newm=1)
    sysmon.retake(seen=P0; preempt=P1:G0)
    stopm(m=0) (not on sched.midle)
    allocm.releasep; startm(m=0, p=1, spinning=0, newm=2)

An argument's value is an int, a tuple of ints (a list, `[2, 1]`), or text
(`P1:G0`, `-`). A procedure written without parentheses (`allocm.releasep`,
`init`) is `plain`.

`Action.parse` reads a label back. Nothing the checker produced is read
back: it is for a trace file, which holds text only (the HTML view of a
file, checker/views/itf.py `step_actions`), and tests/test_architecture.py
holds that nothing else calls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

Ref = tuple[str, int]  # ("P", 1): P1, an entity named the way the runtime writes it


class Refs(tuple[tuple[Ref, ...], ...]):
    """Entities written by name, a list of groups of one or more each:
    `P0,P1` is ((("P", 0),), (("P", 1),)), `P1:G0,P0:G2` is
    ((("P", 1), ("G", 0)), (("P", 0), ("G", 2))) (sysmon's pass: which Ps
    it saw, which G on which P it asks to stop)."""

    __slots__ = ()

    @classmethod
    def each(cls, kind: str, ids: Iterable[int]) -> Refs:
        """One group per id: Refs.each("P", [0, 1]) is `P0,P1`."""
        return cls(((kind, i),) for i in ids)

    @classmethod
    def pairs(cls, kinds: tuple[str, str], pairs: Iterable[tuple[int, int]]) -> Refs:
        """One group per pair: Refs.pairs(("P", "G"), [(1, 0)]) is `P1:G0`."""
        a, b = kinds
        return cls(((a, x), (b, y)) for x, y in pairs)

    def __str__(self) -> str:
        return ",".join(":".join(f"{k}{n}" for k, n in group) for group in self)


Value = int | str | tuple[int, ...] | Refs
Arg = tuple[str, Value]  # (name, value); the name is "" for an unnamed argument

STEP_SEP = "; "  # between the steps of a chain (a macro step)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_new = tuple.__new__


class Action(tuple[str, tuple[Arg, ...], str, str, bool, tuple["Action", ...]]):
    """(procedure, args, tail, sep, plain, the steps chained after it): a
    tuple, so that equality and hashing are a tuple's (the fairness groups
    are looked up by action on every transition)."""

    __slots__ = ()

    def __new__(cls, procedure: str, /, *flags: str, **named: Value) -> Action:
        args = (
            tuple(("", f) for f in flags) + tuple(named.items()) if flags else tuple(named.items())
        )
        return _new(cls, (procedure, args, "", ", ", False, ()))

    @classmethod
    def make(
        cls,
        procedure: str,
        args: tuple[Arg, ...] = (),
        tail: str = "",
        sep: str = ", ",
        plain: bool = False,
        then: tuple[Action, ...] = (),
    ) -> Action:
        """An action from its fields."""
        return _new(cls, (procedure, args, tail, sep, plain, then))

    @classmethod
    def plain_text(cls, text: str) -> Action:
        """A procedure without parentheses: `init`, `allocm.releasep`."""
        return _new(cls, (text, (), "", ", ", True, ()))

    # ---- building ----------------------------------------------------------

    def flag(self, text: str) -> Action:
        """This action with an unnamed argument added last (`empty`, `no work`)."""
        procedure, args, tail, sep, plain, then = self
        return _new(Action, (procedure, args + (("", text),), tail, sep, plain, then))

    def arg(self, name: str, value: Value) -> Action:
        """This action with a named argument added last, for a name that is
        not a Python name (`to m`, `from m`)."""
        procedure, args, tail, sep, plain, then = self
        return _new(Action, (procedure, args + ((name, value),), tail, sep, plain, then))

    def after(self, tail: str) -> Action:
        """This action with `tail` written after its closing parenthesis (` throws`)."""
        procedure, args, _, sep, plain, then = self
        return _new(Action, (procedure, args, tail, sep, plain, then))

    def throws(self) -> Action:
        """This action, after which the runtime throws (` throws`)."""
        return self.after(" throws")

    def renamed(self, procedure: str) -> Action:
        """This action as a call of another procedure."""
        return _new(Action, (procedure, *self[1:]))

    def __add__(self, text: str) -> Action:  # type: ignore[override]
        """This action with `text` written after it: a plug-in's override
        saying what it did beyond the base step (`label += " (drops G3)"`,
        examples/README.md)."""
        if not self[5]:
            return self.after(self[2] + text)
        *head, last = self[5]
        return _new(Action, (*self[:5], (*head, last.after(last[2] + text))))

    def joined_by(self, sep: str) -> Action:
        """This action with its arguments separated by `sep` (sysmon.retake's
        "; "); with fewer than two there is nothing between them."""
        if len(self[1]) < 2:
            return self
        return _new(Action, (*self[:3], sep, *self[4:]))

    def chain(self, nxt: Action) -> Action:
        """This step, then `nxt` (and the steps chained after it): a macro step."""
        return _new(Action, (*self[:5], (*self[5], *nxt.steps())))

    # ---- reading -----------------------------------------------------------

    @property
    def procedure(self) -> str:
        return self[0]

    @property
    def args(self) -> tuple[Arg, ...]:
        return self[1]

    @property
    def tail(self) -> str:
        """The text after the closing parenthesis."""
        return self[2]

    @property
    def sep(self) -> str:
        """Between the arguments (sysmon.retake's pass uses "; ")."""
        return self[3]

    @property
    def plain(self) -> bool:
        """No parentheses: the procedure is all the text."""
        return self[4]

    @property
    def then(self) -> Action | None:
        """The next step of a chain, with the ones after it."""
        rest = self[5]
        if not rest:
            return None
        return rest[0] if len(rest) == 1 else _new(Action, (*rest[0][:5], rest[1:]))

    def steps(self) -> Iterator[Action]:
        """This action and the ones chained after it, each alone."""
        yield self if not self[5] else _new(Action, (*self[:5], ()))
        yield from self[5]

    def calls(self, procedure: str) -> bool:
        """Whether this step is a call of `procedure` (`execute(...)`)."""
        return self[0] == procedure and not self[4]

    def get(self, name: str, default: Value | None = None) -> Value | None:
        """The value of the first argument called `name`."""
        for k, v in self[1]:
            if k == name:
                return v
        return default

    def text(self, name: str) -> str | None:
        """The first argument called `name` as written, or None."""
        for k, v in self[1]:
            if k == name:
                return _text(v)
        return None

    def has(self, *names: str) -> bool:
        """Whether an argument is called one of `names`."""
        return any(k in names for k, _ in self[1])

    @property
    def flags(self) -> tuple[str, ...]:
        """The unnamed arguments' texts (`sysmon`, `from syscall`, `none`)."""
        return tuple(_text(v) for k, v in self[1] if not k)

    # ---- the edge: text ----------------------------------------------------

    def __str__(self) -> str:
        if not self[5]:
            return _one_text(self)
        return STEP_SEP.join(_one_text(a) for a in (self, *self[5]))

    def __contains__(self, item: object) -> bool:
        raise TypeError("an Action is not text: read its fields, or str() it where it is shown")

    def __repr__(self) -> str:
        return f"Action({str(self)!r})"

    @staticmethod
    def parse(label: str) -> Action:
        """The action a label says; str() of it is the label again. For a
        trace file's text only (see the module's doc)."""
        return _parse(label)


def _one_text(a: Action) -> str:
    if a[4]:
        return a[0]
    args = a[3].join(f"{k}={_text(v)}" if k else _text(v) for k, v in a[1])
    return f"{a[0]}({args}){a[2]}"


def _text(v: Value) -> str:
    if type(v) is tuple:
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def _is_int(text: str) -> bool:
    """A non-negative decimal int written as str() writes it."""
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")


def _value(text: str) -> Value:
    """An int, a list of ints or entities by name when the text is exactly
    one, else the text."""
    if _is_int(text):
        return int(text)
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        items = inner.split(", ") if inner else []
        if all(_is_int(x) for x in items):
            return tuple(int(x) for x in items)
    refs = [[(r[:1], r[1:]) for r in group.split(":")] for group in text.split(",")]
    if all(k.isupper() and k.isascii() and _is_int(n) for group in refs for k, n in group):
        return Refs(tuple((k, int(n)) for k, n in group) for group in refs)
    return text


def _split(text: str, sep: str) -> list[str]:
    """text cut at each `sep` outside parentheses and brackets."""
    parts, start, scanned, depth = [], 0, 0, 0
    i = text.find(sep)
    while i >= 0:
        seen = text[scanned:i]
        depth += seen.count("(") + seen.count("[") - seen.count(")") - seen.count("]")
        scanned = i
        if depth == 0:
            parts.append(text[start:i])
            start = i + len(sep)
        i = text.find(sep, i + len(sep))
    parts.append(text[start:])
    return parts


def _closing(text: str, i: int) -> int:
    """The index of the parenthesis that closes the one at i, or -1."""
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
            if depth == 0:
                return j if c == ")" else -1
    return -1


def _arg(text: str) -> Arg:
    name, eq, value = text.partition("=")
    if eq and name and "(" not in name and "[" not in name:
        return name, _value(value)
    return "", _value(text)


def _one(text: str) -> Action:
    i = text.find("(")
    if i <= 0 or not _NAME_CHARS.issuperset(text[:i]):
        return Action.plain_text(text)
    j = _closing(text, i)
    if j < 0:
        return Action.plain_text(text)
    inner = text[i + 1 : j]
    sep = "; " if "; " in inner and len(_split(inner, "; ")) > 1 else ", "
    args = tuple(_arg(a) for a in _split(inner, sep)) if inner else ()
    action = Action.make(text[:i], args, text[j + 1 :], sep)
    if str(action) != text:
        return Action.plain_text(text)  # not a call this module writes
    return action


@lru_cache(maxsize=1 << 16)
def _parse(label: str) -> Action:
    first, *rest = (_one(piece) for piece in _split(label, STEP_SEP))
    return Action.make(*first[:5], tuple(rest)) if rest else first
