"""The step machinery shared by every part of the scheduler model.

A step is a method `step(self, s, a, c) -> Action` registered for a program
counter with `@step(PC.X)`: it runs one runtime-atomic action of actor `a`
(an M, or sysmon) on `s`, a mutable copy of the state, and returns what it
did, an Action (model/action.py; its text, the label, is made only where a
trace or a view shows it). `c` is the nondeterministic choice the step is taken with,
enumerated by a method registered with `@choices(PC.X)` (victims of a steal,
waiters of a semaphore...); steps without one are deterministic.

A step may return TRUNCATED when it would need more Ms or G slots than the
configuration has: the successor is not generated and the engine reports the
search as truncated rather than complete.

Mutations and plug-in variants subclass the model and override a step method
by name; the registry binds by name, so the override is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from operator import itemgetter
from typing import Any, TypeVar

from model.action import Action, Value
from model.config import Config
from model.pcs import PC, PC_NAMES, SYSMON_PCS
from model.state import (
    G_DEAD,
    G_STATUS_NAMES,
    NONE,
    THROW_BAD_G_STATUS,
    Layout,
    QueueError,
    q_items,
)
from model.workloads import Code

TRUNCATED = Action.plain_text("<truncated>")

# Where a macro step ends (--steps macro): the points at which the runtime
# itself waits or hands control to user code.
MACRO_BOUNDARY = frozenset(
    int(p)
    for p in (
        PC.NOT_CREATED,
        PC.PARKED,
        PC.LOCKED_WAIT,
        PC.MSTART,
        PC.THROWN,
        PC.RUN,
        PC.IN_SYSCALL,
        PC.SCHEDULE,
        PC.SYSMON,
    )
)
MACRO_LIMIT = 10_000

# A bound step: (state, actor, choice) -> what it did; its choices: (state, actor) -> the choices.
StepFn = Callable[[Any, int, Any], Action]
ChoicesFn = Callable[[bytes, int], Iterable[Any]]
# What a marking decorator takes and gives back unchanged.
F = TypeVar("F", bound=Callable[..., Any])


def step(pc: PC) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        fn.step_pc = pc  # type: ignore[attr-defined]
        return fn

    return deco


def choices(pc: PC) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        fn.choices_pc = pc  # type: ignore[attr-defined]
        return fn

    return deco


def foldable(fn: F) -> F:
    """Marks a helper whose only effects are on the state it is given and
    whose result is an int, a bool, or a tuple of them.

    It changes nothing when the model runs. The symbolic engine
    (checker/smt/fold.py) folds all the ways through such a helper into
    one symbolic result and one symbolic state, so that its caller goes on
    along one path instead of one per way through the helper (a loop over
    the Ps calling it stays linear, not exponential, in the number of Ps)."""
    fn.foldable = True  # type: ignore[attr-defined]
    return fn


class PluginStepError(ValueError):
    """A plug-in's step left something the model cannot use: a label that is
    neither an Action nor text, a field outside what it can hold (a number
    out of range, a G, P or M that does not exist), a state of another
    length. The plug-in's doing, not the checker's (exit 2)."""


def _plugin_step(fn: Callable[[Any, int, Any], Action | str]) -> StepFn:
    """A plug-in's step (examples/README.md). One written when steps
    returned text still may: its text is its label, taken whole as a plain
    action (read as no call: its fairness groups are its actor's alone)."""

    def run(s: Any, a: int, c: Any) -> Action:
        out = fn(s, a, c)
        if isinstance(out, str):
            return Action.plain_text(out)
        if not isinstance(out, Action):
            name = getattr(fn, "__name__", "?")
            raise PluginStepError(
                f"its step {name} returned {type(out).__name__}, not an Action (or its label text)"
            )
        return out

    return run


class Machine:
    """Registry, dispatch and the small helpers every step uses."""

    cfg: Config
    code: Code
    L: Layout
    macro: bool = False
    # Coverage, while an engine collects it: (actor, pc) -> the states from
    # which the actor took at least one step at pc (macro steps' inner
    # states included). None: not collected.
    coverage: dict[tuple[int, int], int] | None = None
    # Likewise the states in which a bound of the configuration cut a step of
    # actor a at pc off (pc STARTM: the M bound; RUN: the goroutine slots).
    cuts: dict[tuple[int, int], int] | None = None
    # Where a plug-in variant comes from (checker/plugin.py): name, file,
    # object, sha256. None for the package's own models. A plug-in's states
    # are checked as its steps make them (Machine._plugin_state).
    plugin: dict[str, Any] | None = None

    # Steps a configuration of Go's scheduler cannot take, with the reason:
    # (actor kind "M" or "sysmon", pc name) -> why. The gate's coverage check
    # (checker/engine/coverage.py) does not ask any cell to reach them.
    unreachable_steps: dict[tuple[str, str], str] = {}
    # A state's encoding: one byte per field (the open world of a program
    # with many goroutines uses two, model/openworld.py).
    freeze: Callable[[Any], bytes] = staticmethod(bytes)
    thaw: Callable[[bytes], Any] = staticmethod(list)  # type: ignore[assignment]
    # Applied to every successor before it is frozen (the open world's
    # record of visits that find nothing, model/openworld.py); None here.
    normalize: Callable[[list[int]], None] | None = None

    def _bind_steps(self) -> None:
        step_names: dict[int, str] = {}
        choice_names: dict[int, str] = {}
        owners: dict[str, str] = {}  # a method's name -> the module of its class
        for klass in reversed(type(self).__mro__):
            for name, attr in vars(klass).items():
                owners[name] = klass.__module__
                pc = getattr(attr, "step_pc", None)
                if pc is not None:
                    step_names[int(pc)] = name
                pc = getattr(attr, "choices_pc", None)
                if pc is not None:
                    choice_names[int(pc)] = name
        self._step_names = step_names
        self._dispatch: list[tuple[StepFn, ChoicesFn | None] | None] = [None] * 256
        for pc, name in step_names.items():
            chooser = getattr(self, choice_names[pc]) if pc in choice_names else None
            fn = getattr(self, name)
            if not owners[name].startswith("model."):
                fn = _plugin_step(fn)
            self._dispatch[pc] = (fn, chooser)

    def step_successors(self, t: bytes) -> tuple[list[tuple[int, Action, bytes]], bool]:
        """Every enabled step from state t: (actor, action, next state), and
        whether a bound of the configuration cut some step off.

        With `--steps macro`, a step is a whole runtime routine: the actor's
        fine steps run back to back, with no other actor in between, until
        it reaches a boundary pc (MACRO_BOUNDARY: running user code, in a
        system call, parked, at the top of schedule, sysmon's loop). The
        fine steps are the same code; only where others may interleave
        changes. It is a coarser model for exhaustive searches (docs/model.md)."""
        out: list[tuple[int, Action, bytes]] = []
        truncated = False
        L = self.L
        if t[L.throw]:
            return out, False  # the runtime threw: the process is gone
        cover, cuts = self.coverage, self.cuts
        for a in range(L.nA):
            steps, cut = self.actor_steps(t, a)
            truncated |= cut
            if cover is not None and steps:
                key = (a, t[L.pc[a]])
                cover[key] = cover.get(key, 0) + 1
            if cuts is not None and cut:
                key = (a, t[L.pc[a]])
                cuts[key] = cuts.get(key, 0) + 1
            if not self.macro:
                out += [(a, label, u) for label, u in steps]
                continue
            done: dict[bytes, Action] = {}
            seen: set[bytes] = set()  # inner states already followed (any order leads on alike)
            stack = [(label, u, 1) for label, u in reversed(steps)]
            while stack:
                label, u, n = stack.pop()
                if u[L.pc[a]] in MACRO_BOUNDARY or u[L.throw]:
                    done.setdefault(u, label)
                    continue
                if u in seen:
                    continue
                seen.add(u)
                if n > MACRO_LIMIT:
                    raise RuntimeError(f"actor {a} ran {n} steps without reaching a boundary")
                more, cut = self.actor_steps(u, a)
                truncated |= cut
                if cover is not None and more:
                    key = (a, u[L.pc[a]])
                    cover[key] = cover.get(key, 0) + 1
                if cuts is not None and cut:
                    key = (a, u[L.pc[a]])
                    cuts[key] = cuts.get(key, 0) + 1
                stack += [(label.chain(lb), v, n + 1) for lb, v in reversed(more)]
            out += [(a, label, u) for u, label in done.items()]
        return out, truncated

    def actor_steps(self, t: bytes, a: int) -> tuple[list[tuple[Action, bytes]], bool]:
        """The fine steps actor a can take from t: (action, next state)."""
        entry = self._dispatch[t[self.L.pc[a]]]
        if entry is None:
            return [], False
        fn, chooser = entry
        options: Iterable[Any] = (None,) if chooser is None else chooser(t, a)
        out = []
        truncated = False
        freeze, thaw, normalize = self.freeze, self.thaw, self.normalize
        checked = self.plugin is not None  # a plug-in's states are checked as they are made
        for c in options:
            s = thaw(t)
            try:
                label = fn(s, a, c)
            except QueueError as e:
                s = thaw(t)
                label = self.queue_throw(s, a, t[self.L.pc[a]], e)
            if label is TRUNCATED:
                truncated = True
                continue
            if normalize is not None:
                normalize(s)
            u = self._plugin_state(s, a, t[self.L.pc[a]]) if checked else freeze(s)
            out.append((label, u))
        return out, truncated

    def _plugin_state(self, s: Any, a: int, pc: int) -> bytes:
        """A plug-in's step may write anything into the state: what the
        model cannot hold or read (a value out of its field's range, a G, P
        or M that does not exist, a state of another length) is refused
        here, naming the field, rather than failing in some later step.
        The state, frozen."""
        L = self.L
        if len(s) != L.size:
            raise PluginStepError(
                f"a step at {self.pc_name(pc)} (actor {a}) made the state {len(s)} fields "
                f"long; it has {L.size}"
            )
        try:
            u = self.freeze(s)
        except (ValueError, TypeError, OverflowError):  # a value the state cannot hold
            limit = 1 << (16 if L.wide else 8)
            i = next(i for i, v in enumerate(s) if not isinstance(v, int) or not 0 <= v < limit)
            raise self._wrote(s, a, pc, i, "a value", limit) from None
        for offsets, values, what, n, allowed in self._plugin_ref_checks:
            if not allowed.issuperset(values(s)):
                i = next(i for i in offsets if s[i] not in allowed)
                raise self._wrote(s, a, pc, i, what, n)
        return u

    @cached_property
    def _plugin_ref_checks(self) -> list[tuple[list[int], Any, str, int, frozenset[int]]]:
        """The fields that name a G, a P or an M, with what they may hold."""
        L = self.L
        return [
            (offsets, values, what, n, frozenset({*range(n), NONE}))
            for offsets, values, what, n in (
                (L.g_ref_offsets, L.g_refs, "a G", L.nG),
                (L.p_ref_offsets, itemgetter(*L.p_ref_offsets), "a P", L.nP),
                (L.m_ref_offsets, itemgetter(*L.m_ref_offsets), "an M", L.nM),
            )
        ]

    def _wrote(self, s: Any, a: int, pc: int, i: int, what: str, n: int) -> PluginStepError:
        holds = (
            f"a number from 0 to {n - 1}"
            if what == "a value"
            else f"{what}: 0 to {n - 1}, or NONE ({NONE})"
        )
        return PluginStepError(
            f"a step at {self.pc_name(pc)} (actor {a}) wrote {s[i]!r} into "
            f"{self._field_name(i)}, which holds {holds}"
        )

    def _field_name(self, i: int) -> str:
        """The layout's name of state offset i ("runnext[1]"), for messages."""
        for k, v in vars(self.L).items():
            if v == i and isinstance(v, int) and not isinstance(v, bool):
                return k
            if isinstance(v, list) and i in v and all(type(x) is int for x in v):
                return f"{k}[{v.index(i)}]"
        return f"offset {i}"

    # ---- the step catalogue (coverage, traces, the symbolic engine) ---------

    def pc_name(self, pc: int) -> str:
        return PC_NAMES.get(pc) or f"PC{pc}"

    def sysmon_pcs(self) -> frozenset[int]:
        """The program counters sysmon runs: its loop, and the procedures it calls."""
        return frozenset(int(p) for p in SYSMON_PCS)

    def m_pcs(self) -> frozenset[int]:
        """The program counters an M may be at."""
        return frozenset(int(p) for p in PC if p != PC.SYSMON)

    def step_actors(self, pc: int) -> tuple[str, ...]:
        """Which kinds of actor run the step at pc: "M", "sysmon" or both."""
        kinds = []
        if pc in self.m_pcs():
            kinds.append("M")
        if pc in self.sysmon_pcs():
            kinds.append("sysmon")
        return tuple(kinds)

    def step_method(self, pc: int) -> Callable[..., Action] | None:
        """The @step method registered for pc (the override that runs), or None."""
        name = getattr(self, "_step_names", {}).get(pc)
        return None if name is None else getattr(type(self), name)

    # ---- helpers ---------------------------------------------------------

    def call_by(self, a: int, procedure: str, **named: Value) -> Action:
        """`procedure(m=a, ...)` for an M, `procedure(sysmon, ...)` for sysmon."""
        if a == self.L.SYSMON:
            return Action(procedure, "sysmon", **named)
        return Action(procedure, m=a, **named)

    def goto(self, s: list[int], a: int, pc: PC) -> None:
        s[self.L.pc[a]] = pc

    def ret(self, s: list[int], a: int) -> None:
        """Return from a runtime procedure (wakep, startm, handoffp) to the caller."""
        L = self.L
        s[L.pc[a]] = s[L.ret[a]]
        s[L.ret[a]] = 0

    def call(self, s: list[int], a: int, pc: PC, ret: PC) -> None:
        L = self.L
        s[L.pc[a]] = pc
        s[L.ret[a]] = ret

    def throw(self, s: list[int], a: int, code: int) -> None:
        """The runtime throws: record why; the process is over."""
        s[self.L.throw] = code
        s[self.L.pc[a]] = PC.THROWN

    def queue_throw(self, s: list[int], a: int, pc: int, e: QueueError) -> Action:
        """A step of actor a at pc overflowed or underflowed a queue
        (QueueError): on the state before it, the runtime throws instead."""
        self.throw(s, a, e.code)
        return self.call_by(a, self.pc_name(pc).lower()).after(f" throws: {e.what}")

    def casgstatus(self, s: list[int], a: int, g: int, old: int, new: int) -> bool:
        """casgstatus(gp, old, new): Go throws when the G is not in `old`."""
        off = self.L.g_status[g]
        if s[off] != old:
            self.throw(s, a, THROW_BAD_G_STATUS)
            return False
        s[off] = new
        return True

    def g_name(self, g: int) -> int | str:
        """A G as an action names it: its number, or "-" for none."""
        return "-" if g == NONE else g

    def live_gs(self, t: bytes | list[int]) -> list[int]:
        L = self.L
        return [g for g in range(L.nG) if t[L.g_status[g]] != G_DEAD]

    def batch_of(self, s: bytes | list[int], a: int) -> list[int]:
        return q_items(s, self.L.batch[a], self.L.B)

    def status_name(self, st: int) -> str:
        return G_STATUS_NAMES[st]
