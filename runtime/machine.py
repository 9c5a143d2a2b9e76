"""How the runtime takes one step, and the helpers every step uses.

The runtime's steps are methods registered for a program counter, with
model/machine.py's own `@step` and `@choices` decorators, and the same
names as the model's: `findRunnable_steal` here does what
`findRunnable_steal` in model/schedule.py does, on objects instead of a
state vector. A step `fn(a, c) -> label` runs actor `a` (an M, or sysmon)
with choice `c`; `@choices` lists the choices open to it *in the runtime's
current state* (the same values as the model's: a steal victim, a waiter to
ready, the signal...); `@plan` names the step-lock units it touches
(runtime/locks.py).

`take_step` is the runtime's discipline for one step: choose (in a free run
the runtime's own policy picks: a random steal order, the oldest waiter, a
pending signal; in a replay the choice is imposed), lock the plan, check
under the locks that the plan and the choice still hold, run, log, unlock.
A step that would put more into a queue than it holds (a P queued twice by
a broken scheduler) is undone and throws instead, as the model records it
(model/machine.py actor_steps): the state before the step, with the throw.

Subclasses (runtime/mutations.py) override steps by name, as the model's
mutations do; the registry binds by name, so the override is what runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import count
from typing import Any

from model.config import Config
from model.machine import TRUNCATED
from model.pcs import PC, PC_NAMES
from model.state import THROW_BAD_G_STATUS, Layout, QueueError
from model.workloads import Code
from runtime.locks import Unit, lock_all, unlock_all
from runtime.objects import G, GFree, M, P, Sched, Sema

NOT_ALLOWED = "<not allowed>"  # an imposed choice the runtime's state does not offer


def plan(pc: PC) -> Callable:
    """Register the step-lock plan of the step at `pc`: plan(a, c) -> units."""

    def deco(fn: Callable) -> Callable:
        fn.plan_pc = pc  # type: ignore[attr-defined]
        return fn

    return deco


def top(stack: list[int]) -> int | None:
    """The top of a stack read without its lock (by a plan, which is checked
    again under the lock): it may be emptied under our feet."""
    try:
        return stack[-1]
    except IndexError:
        return None


class Journal:
    """Numbers the steps in the order they take effect. A recording journal
    (checker/replay/record.py) also keeps what each step changed."""

    def __init__(self) -> None:
        self._tickets = count()  # next() on it is atomic: a fetch-and-add
        self.last = -1  # the last ticket taken (read racily, for progress)
        self.throw_ticket: int | None = None  # the step at which the runtime threw
        self.fail_ticket: int | None = None  # taken by a step that raised, under its locks

    def commit(self, rt: Any, a: int, label: str, held: list[Unit]) -> int:
        t = next(self._tickets)
        self.last = t
        if rt.allm[a].pc == PC.THROWN and self.throw_ticket is None:
            self.throw_ticket = t
        return t

    def failed(self) -> None:
        if self.fail_ticket is None:
            self.fail_ticket = next(self._tickets)

    def count(self) -> int:
        """How many steps have taken effect (a racy read, for progress checks)."""
        return self.last + 1


class Machine:
    """Registry, dispatch, the step discipline and the small helpers."""

    cfg: Config
    code: Code
    L: Layout
    sched: Sched
    allp: list[P]
    allm: list[M]
    allg: list[G]
    semas: list[Sema]
    gfree: GFree
    SYSMON: int
    journal: Journal
    rngs: list[random.Random]

    def _bind_steps(self) -> None:
        steps: dict[int, str] = {}
        choosers: dict[int, str] = {}
        plans: dict[int, str] = {}
        for klass in reversed(type(self).__mro__):
            for name, attr in vars(klass).items():
                for key, table in (
                    ("step_pc", steps),
                    ("choices_pc", choosers),
                    ("plan_pc", plans),
                ):
                    pc = getattr(attr, key, None)
                    if pc is not None:
                        table[int(pc)] = name
        missing = sorted(PC(pc).name for pc in steps if pc not in plans)
        if missing:
            raise TypeError(f"runtime steps without a lock plan: {', '.join(missing)}")
        self._dispatch: list[tuple[Callable, Callable | None, Callable] | None] = [None] * 256
        for pc, name in steps.items():
            chooser = getattr(self, choosers[pc]) if pc in choosers else None
            self._dispatch[pc] = (getattr(self, name), chooser, getattr(self, plans[pc]))

    def choices_of(self, a: int) -> list | None:
        """The choices actor a's next step has now (None: it has no choice)."""
        entry = self._dispatch[self.allm[a].pc]
        if entry is None or entry[1] is None:
            return None
        return entry[1](a)

    def has_step(self, a: int) -> bool:
        """Whether actor a has a step open now: an instruction with a step,
        and a choice to take it with if it needs one. Read while no step
        runs (every thread waits at the replay gate)."""
        mp = self.allm[a]
        if mp.pc in (PC.PARKED, PC.THROWN, PC.NOT_CREATED) or self._dispatch[mp.pc] is None:
            return False
        opts = self.choices_of(a)
        return opts is None or bool(opts)

    # ---- one step ---------------------------------------------------------------

    def take_step(self, a: int, c: Any = None, imposed: bool = False) -> str | None:
        """Take actor a's next step. Returns its label; None when the step has
        no choice open now (sysmon with nothing to do, a changed mind under
        the locks: the caller tries again later); TRUNCATED when it would
        need more G's or Ms than the configuration has; NOT_ALLOWED when an
        imposed choice is not one the runtime's state offers."""
        mp = self.allm[a]
        entry = self._dispatch[mp.pc]
        if entry is None:
            return None
        fn, chooser, planner = entry
        while True:
            if not imposed:
                c = None
                if chooser is not None:
                    opts = chooser(a)
                    if not opts:
                        return None
                    c = self.pick(a, opts)
            want = planner(a, c)
            held = lock_all(want)
            try:
                if not set(planner(a, c)) <= set(held):
                    continue  # what the plan depends on changed before we held it
                if chooser is not None and c not in chooser(a):
                    if imposed:
                        return NOT_ALLOWED
                    continue
                label = self.run_step(fn, a, c, held)
                if label is TRUNCATED:
                    return TRUNCATED
                self.journal.commit(self, a, label, held)
                return label
            except BaseException:
                self.journal.failed()  # under the locks: later steps may see a half-done one
                raise
            finally:
                unlock_all(held)

    def run_step(self, fn: Callable, a: int, c: Any, held: list[Unit]) -> str:
        """Run the step under its locks. When it could overflow a queue
        (may_overflow), the units it holds are saved first, and an overflow
        puts them back and throws."""
        pc = self.allm[a].pc
        if not self.may_overflow(a, held):
            return fn(a, c)
        saved = [(u, u.state.save()) for u in held]
        try:
            return fn(a, c)
        except QueueError as e:
            for u, x in saved:
                u.state.restore(x)
            self.throw(a, e.code)
            return f"{PC_NAMES[pc].lower()}({self.who(a)}) throws: {e.what}"

    def pick(self, a: int, opts: list) -> Any:
        """The runtime's own choice in a free run: a pending preemption signal
        is taken, stealWork visits victims in a random order (stealOrder),
        sysmon's work comes in random order, the oldest waiter is readied,
        checkRunqsNoP walks allp in order."""
        pc = self.allm[a].pc
        if pc == PC.RUN:
            if self.allm[a].signal and opts[-1][0] == "async":
                return opts[-1]
            return opts[0]
        if pc in (PC.FR_STEAL, PC.SYSMON):
            return self.rngs[a].choice(opts)
        return opts[0]

    # ---- helpers (model/machine.py has the same) -----------------------------------

    def who(self, a: int) -> str:
        return "sysmon" if a == self.SYSMON else f"m={a}"

    def call(self, a: int, pc: PC, ret: PC) -> None:
        mp = self.allm[a]
        mp.pc = pc
        mp.ret = ret

    def ret(self, a: int) -> None:
        """Return from a runtime procedure (wakep, startm, handoffp) to the caller."""
        mp = self.allm[a]
        mp.pc = mp.ret
        mp.ret = 0
        if a == self.SYSMON and mp.pc == PC.SYSMON:
            self.incidlelocked(1)  # retake's handoffp returned
        elif mp.pc == PC.LOCKED_WAIT:
            self.incidlelocked(1)  # stoplockedm's handoffp returned: it sleeps

    def incidlelocked(self, v: int) -> None:
        """incidlelocked(v) (under sched.lock): sysmon counts as a running M
        for checkdead while it hands off a P it retook."""
        self.sched.nmidlelocked += v

    def throw(self, a: int, code: int) -> None:
        """The runtime throws: record why; this M does nothing more, and a free
        run stops (the process would be gone)."""
        self.sched.throw = code
        self.allm[a].pc = PC.THROWN
        self.on_throw(a)

    # Provided by the Runtime (runtime/queues.py, runtime/threads.py, runtime/scheduler.py).

    def may_overflow(self, a: int, held: list[Unit]) -> bool:
        raise NotImplementedError

    def on_throw(self, a: int) -> None:
        raise NotImplementedError

    def newm(self, m: int) -> None:
        raise NotImplementedError

    def new_g(self) -> int:
        raise NotImplementedError

    def casgstatus(self, a: int, g: int, old: int, new: int) -> bool:
        """casgstatus(gp, old, new): Go throws when the G is not in `old`."""
        gp = self.allg[g]
        if gp.status != old:
            self.throw(a, THROW_BAD_G_STATUS)
            return False
        gp.status = new
        return True
