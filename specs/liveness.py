"""The liveness properties of the GMP model (DESIGN §3, reference §10.4, §10.5).

Each is checked on the explored state graph (checker/engine/liveness.py): it is
violated when a fair cycle is reachable on which the property's obligation
is never met. The obligation is given as a "stuck" predicate over a few
bits per state (the atoms): the states in which the thing the property
waits for has not happened. A fair cycle made only of stuck states (or a
stuck state with no step at all) is a counterexample, shown as a lasso.

Fairness (the assumptions a verdict rests on, printed with it):
  m          weak fairness of each M: an M that can take a step keeps being
             able to, until it takes one (the OS schedules every thread)
  sysmon     weak fairness of sysmon's steps
  timeslice  time passes: a P whose G keeps using up its time slice (the
             same schedtick, seen by sysmon, with the G running) is
             eventually preempted by sysmon — strong fairness, since the
             slice is only "up" while a G runs on it; a slice renewed by a
             new schedtick owes nothing
  steal      an M that could steal work infinitely often eventually does
             (strong fairness of successful steals): the OS does not keep
             an M off the CPU exactly while there is something to steal
  signal     a preemption signal that stays deliverable is eventually
             delivered (async preemption works; with --no-async-preempt
             there is no signal)
  syscall    every system call eventually returns
An M in a system call is blocked in the kernel: its return is the syscall
assumption's, not the m assumption's. sysmon's steps are weakly fair, but
whether it preempts a G at all depends on time, which only "timeslice"
says anything about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from model.state import G_DEAD, G_RUNNABLE, G_RUNNING, NONE
from model.workloads import Op
from specs.property import LIVENESS, Obligation, Property

if TYPE_CHECKING:
    from model.gmp import GMPModel

FAIRNESS = {
    "m": "weak fairness of each M's steps",
    "sysmon": "weak fairness of sysmon's steps",
    "timeslice": "a time slice that keeps running out is eventually preempted (strong)",
    "steal": "an M that can steal infinitely often eventually steals (strong)",
    "signal": "a pending preemption signal is eventually delivered",
    "syscall": "every system call eventually returns",
}

# Atoms, one bit each: runnable(g) = bit 2g, running(g) = bit 2g+1; then:
_IDLE_P = 62
_ALL_DEAD = 63


def atom_predicates(model: GMPModel) -> list[tuple[int, Callable[[bytes], bool]]]:
    """The atoms, each as (bit, predicate over a state): the one definition
    that `atoms` evaluates and the compiled kernel is generated from."""
    L = model.L
    preds: list[tuple[int, Callable[[bytes], bool]]] = []
    for g in range(L.nG):
        off = L.g_status[g]
        preds.append((2 * g, lambda t, off=off: t[off] == G_RUNNABLE))  # type: ignore[misc]
        preds.append((2 * g + 1, lambda t, off=off: t[off] == G_RUNNING))  # type: ignore[misc]
    preds.append((_IDLE_P, lambda t: t[L.pidle] != NONE))
    status = L.g_status
    preds.append((_ALL_DEAD, lambda t: all(t[off] == G_DEAD for off in status)))
    return preds


def atoms(model: GMPModel, t: bytes) -> int:
    preds = model.__dict__.get("_atom_predicates")
    if preds is None:
        preds = model.__dict__["_atom_predicates"] = atom_predicates(model)
    a = 0
    for bit, holds in preds:
        if holds(t):
            a |= 1 << bit
    return a


def _masks(model: GMPModel) -> tuple[int, int]:
    n = model.L.nG
    runnable = sum(1 << (2 * g) for g in range(n))
    return runnable, runnable << 1


def stuck_progress(model: GMPModel) -> list[Obligation]:
    runnable, running = _masks(model)
    return [("some G", lambda a: bool(a & runnable) and not a & running)]


def stuck_no_starvation(model: GMPModel) -> list[Obligation]:
    # b, G g's bit, is bound as a default (as atom_predicates binds off)
    return [(f"G{g}", lambda a, b=1 << (2 * g): bool(a & b)) for g in range(model.L.nG)]  # type: ignore[misc]


def stuck_eventual_parallelism(model: GMPModel) -> list[Obligation]:
    runnable, _ = _masks(model)
    return [("a runnable G and an idle P", lambda a: bool(a & runnable) and bool(a >> _IDLE_P & 1))]


def stuck_termination(model: GMPModel) -> list[Obligation]:
    return [("a live G", lambda a: not a >> _ALL_DEAD & 1)]


def terminates(model: GMPModel) -> str | None:
    """None if every program of the workload ends (no loop, no spin, no
    goroutine that spawns its own kind, directly or not); else why not."""
    code = model.code
    for pc, op in enumerate(code.ops):
        if op == Op.SPIN:
            return f"{code.describe(pc)} loops forever"
        if op not in (-1, Op.EXIT) and code.nextpc[pc] <= pc:
            return f"{code.describe(pc)} is in a loop"
    spawns: dict[int, set[int]] = {}
    for pc, op in enumerate(code.ops):
        if op == Op.GO:
            spawns.setdefault(code.prog_of[pc], set()).add(code.args[pc])
    for start in spawns:
        seen, todo = set(), list(spawns[start])
        while todo:
            p = todo.pop()
            if p == start:
                return f"{code.prog_names[start]} spawns goroutines without end"
            if p not in seen:
                seen.add(p)
                todo += spawns.get(p, ())
    return None


LIVENESS_PROPERTIES = [
    Property(
        "progress",
        LIVENESS,
        "if some G is runnable, eventually some G runs",
        source="reference §10.4; checkdead's runnable-g check in its liveness form",
        stuck=stuck_progress,
        fairness=("m", "sysmon"),
    ),
    Property(
        "no-starvation",
        LIVENESS,
        "every runnable G eventually runs",
        source="reference §5 and §10.5: the schedtick%61 check, sysmon preemption, "
        "Gosched to the global queue",
        stuck=stuck_no_starvation,
        fairness=("m", "sysmon", "timeslice", "steal", "signal"),
    ),
    Property(
        "eventual-parallelism",
        LIVENESS,
        "a runnable G and an idle P do not persist together",
        source="proc.go header: 'guarantees eventual maximal CPU parallelism "
        "utilization'; reference §10.4",
        stuck=stuck_eventual_parallelism,
        fairness=("m", "sysmon", "timeslice", "steal", "signal"),
    ),
    Property(
        "termination",
        LIVENESS,
        "a workload whose programs all end reaches a state where every G is dead",
        source="reference §10.4",
        stuck=stuck_termination,
        fairness=("m", "sysmon", "timeslice", "steal", "signal", "syscall"),
        applies=terminates,
    ),
]
