"""Action: a step's label as a typed value.

Every step of the model returns a label, text such as

    stealWork(m=1, p=0, victim=1, gs=[2])
    startm(sysmon, p=0, spinning=0, newm=1)
    sysmon.retake(seen=P0; preempt=P1:G0)
    stopm(m=0) (not on sched.midle)
    allocm.releasep; startm(m=0, p=1, spinning=0, newm=2)

and a macro step (`--steps macro`, model/machine.py) joins its fine steps'
labels with "; ". The labels are what traces, the kernel's C code and the
views show, so their text is fixed; what reads them back (the fairness
groups of a step, the lanes of the HTML view, the wait bounds) reads them
through `Action.parse`, the one parser, and `str(action)` gives back the
exact text parsed.

An action is a procedure (`stealWork`, `sysmon.retake`), its arguments in
order, each named (`victim=1`) or not (`sysmon`, `no work`), and any text
after the closing parenthesis (` throws`, ` (not on sched.midle)`). A
procedure written without parentheses (`allocm.releasep`) is `bare`. An
argument's value is an int when its text is one (`1`), a tuple of ints for
a list (`[2, 1]`), else its text (`P1:G0`, `-`). The next action of a
chain of steps is `then`.

Text that does not read as a call (another model's labels, a plug-in's) is
one bare action, whose procedure is the whole text: parse and str agree on
every string.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

Value = int | str | tuple[int, ...]
Arg = tuple[str, Value]  # (name, value); the name is "" for an unnamed argument

STEP_SEP = "; "  # between the steps of a chain (a macro step)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


@dataclass(frozen=True)
class Action:
    procedure: str
    args: tuple[Arg, ...] = ()
    tail: str = ""  # the text after the closing parenthesis
    sep: str = ", "  # between the arguments (sysmon.retake's pass uses "; ")
    bare: bool = False  # no parentheses: the procedure is all the text
    then: Action | None = None  # the next step of a chain

    @staticmethod
    def parse(label: str) -> Action:
        """The action a label says; str() of it is the label again."""
        return _parse(label)

    def __str__(self) -> str:
        out = []
        a: Action | None = self
        while a is not None:
            if a.bare:
                out.append(a.procedure)
            else:
                args = a.sep.join(f"{k}={_text(v)}" if k else _text(v) for k, v in a.args)
                out.append(f"{a.procedure}({args}){a.tail}")
            a = a.then
        return STEP_SEP.join(out)

    def steps(self) -> Iterator[Action]:
        """This action and the ones chained after it, each alone."""
        a: Action | None = self
        while a is not None:
            yield a if a.then is None else replace(a, then=None)
            a = a.then

    def calls(self, procedure: str) -> bool:
        """Whether this step is a call of `procedure` (`execute(...)`)."""
        return self.procedure == procedure and not self.bare

    def get(self, name: str, default: Value | None = None) -> Value | None:
        """The value of the first argument called `name`."""
        for k, v in self.args:
            if k == name:
                return v
        return default

    def text(self, name: str) -> str | None:
        """The first argument called `name` as written, or None."""
        for k, v in self.args:
            if k == name:
                return _text(v)
        return None

    def has(self, *names: str) -> bool:
        """Whether an argument is called one of `names`."""
        return any(k in names for k, _ in self.args)

    @property
    def flags(self) -> tuple[str, ...]:
        """The unnamed arguments' texts (`sysmon`, `from syscall`, `none`)."""
        return tuple(_text(v) for k, v in self.args if not k)


def _text(v: Value) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def _is_int(text: str) -> bool:
    """A non-negative decimal int written as str() writes it."""
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")


def _value(text: str) -> Value:
    """An int or a list of ints when the text is exactly one, else the text."""
    if _is_int(text):
        return int(text)
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        items = inner.split(", ") if inner else []
        if all(_is_int(x) for x in items):
            return tuple(int(x) for x in items)
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


def _one(text: str, then: Action | None) -> Action:
    i = text.find("(")
    if i <= 0 or not _NAME_CHARS.issuperset(text[:i]):
        return Action(text, bare=True, then=then)
    j = _closing(text, i)
    if j < 0:
        return Action(text, bare=True, then=then)
    inner = text[i + 1 : j]
    sep = "; " if "; " in inner and len(_split(inner, "; ")) > 1 else ", "
    args = tuple(_arg(a) for a in _split(inner, sep)) if inner else ()
    action = Action(text[:i], args, text[j + 1 :], sep, then=then)
    if str(Action(action.procedure, action.args, action.tail, action.sep)) != text:
        return Action(text, bare=True, then=then)  # not a call this module writes
    return action


@lru_cache(maxsize=1 << 16)
def _parse(label: str) -> Action:
    action: Action | None = None
    for piece in reversed(_split(label, STEP_SEP)):
        action = _one(piece, action)
    assert action is not None
    return action
