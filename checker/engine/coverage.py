"""Coverage: which steps of the model a run took, and from how many states.

A step is what an actor kind (an M, or sysmon) does at one program counter:
the `@step` method registered for it (model/machine.py), the override a
mutation or plug-in puts in its place included. A search counts, for every
actor and program counter, the states from which the actor took at least
one step there (`Exploration.coverage`; macro steps' inner states included;
the compiled and the Python kernels count alike). This module folds the
actors of one kind together and lays the counts out beside the model's
catalogue of steps, so that the steps never taken show.

The anchor is TLC's `-coverage`: a model checker that cannot say what it
explored invites false confidence. A step no run reaches is a step in
which no bug can be found.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StepInfo:
    actor: str  # "M" or "sysmon"
    pc: int
    pc_name: str
    method: str  # the @step method that runs there: "Wake.startm"
    where: str  # its source: "model/wake.py:63"
    plugin: bool  # defined outside the package (a plug-in's step or override)
    unreachable: str = ""  # declared unreachable by design: why

    @property
    def key(self) -> tuple[str, str]:
        return (self.actor, self.pc_name)

    @property
    def name(self) -> str:
        return f"{self.actor} {self.pc_name}"


def _source(fn: Any) -> tuple[str, bool]:
    fn = getattr(fn, "__func__", fn)
    try:
        path = Path(inspect.getsourcefile(fn) or "").resolve()
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return "?", True
    try:
        rel = path.relative_to(ROOT)
    except ValueError:
        return f"{path}:{line}", True
    return f"{rel}:{line}", rel.parts[0] not in ("model",)


def step_catalogue(model: Any) -> list[StepInfo]:
    """Every step of the model, by actor kind and program counter (the order
    of the program counters), with its method and where it is defined."""
    dispatch = getattr(model, "_dispatch", None)
    if dispatch is None:
        return []
    declared = getattr(model, "unreachable_steps", {}) or {}
    out = []
    for pc, entry in enumerate(dispatch):
        if entry is None:
            continue
        fn = model.step_method(pc) or entry[0]
        where, plugin = _source(fn)
        raw = getattr(fn, "__func__", fn)
        for kind in model.step_actors(pc):
            name = model.pc_name(pc)
            out.append(
                StepInfo(
                    kind,
                    pc,
                    name,
                    raw.__qualname__,
                    where,
                    plugin,
                    declared.get((kind, name), ""),
                )
            )
    return out


def by_kind(model: Any, cover: dict[tuple[int, int], int]) -> dict[tuple[str, str], int]:
    """Per-actor coverage folded by actor kind: (kind, pc name) -> states."""
    sysmon = model.L.SYSMON
    out: dict[tuple[str, str], int] = {}
    for (a, pc), n in cover.items():
        key = ("sysmon" if a == sysmon else "M", model.pc_name(pc))
        out[key] = out.get(key, 0) + n
    return out


@dataclass
class Row:
    step: StepInfo
    states: int
    cells: int = 0  # the gate: how many cells reached it


def rows(model: Any, folded: dict[tuple[str, str], int]) -> list[Row]:
    return [Row(s, folded.get(s.key, 0)) for s in step_catalogue(model)]


def missing(table: list[Row]) -> list[Row]:
    """The steps never taken and not declared unreachable."""
    return [r for r in table if not r.states and not r.step.unreachable]


def render(table: list[Row], *, title: str = "coverage", cells: bool = False) -> list[str]:
    """The per-step table: actor, program counter, method, source, states
    (and, for the gate, cells), then the steps never taken."""
    if not table:
        return [f"{title}: the model has no step catalogue"]
    w_pc = max(len(r.step.name) for r in table) + 2
    w_fn = max(len(r.step.method) for r in table) + 2
    head = f"  {'step':<{w_pc}}{'method':<{w_fn}}{'states':>12}"
    if cells:
        head += f"{'cells':>7}"
    out = [f"{title}: {sum(1 for r in table if r.states)} of {len(table)} steps taken", head]
    for r in table:
        n = f"{r.states:,}" if r.states else ("-" if r.step.unreachable else "0")
        line = f"  {r.step.name:<{w_pc}}{r.step.method:<{w_fn}}{n:>12}"
        if cells:
            line += f"{r.cells:>7}"
        line += f"  {r.step.where}" + ("  (plug-in)" if r.step.plugin else "")
        out.append(line)
    never = missing(table)
    if never:
        out.append(f"  never taken ({len(never)}): " + ", ".join(r.step.name for r in never))
    by_design = [r for r in table if r.step.unreachable]
    for r in by_design:
        out.append(f"  unreachable by design: {r.step.name}: {r.step.unreachable}")
    return out


def as_json(table: list[Row]) -> list[dict]:
    return [
        {
            "actor": r.step.actor,
            "pc": r.step.pc_name,
            "method": r.step.method,
            "where": r.step.where,
            "plugin": r.step.plugin,
            "states": r.states,
            **({"unreachable": r.step.unreachable} if r.step.unreachable else {}),
        }
        for r in table
    ]
