"""The summary of `check`: each property's verdict and what the search (or
the solver) did; schema "gmpcheck.summary/1", documented in README.md.

`CheckSummary` is the explicit engine's (checker/views/report.py builds it),
`SmtSummary` bounded model checking's (checker/smt/summary.py), and
`EnginesSummary` the two side by side (`--engine both`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from checker.verdict import Verdict

SUMMARY_SCHEMA = "gmpcheck.summary/1"


def with_set(doc: dict[str, Any], result: Any, names: Iterable[str]) -> None:
    """Add to `doc` each of the named fields of `result` that is set (not
    None): the optional keys of a summary, in their order."""
    for name in names:
        value = getattr(result, name)
        if value is not None:
            doc[name] = value


@dataclass
class PropertyResult:
    """One property's verdict. The optional fields are written, in this
    order, when they are set: a pass of a bounded search (`bounded`), what a
    stopped search established (`checked_states`, `complete_depth`), a
    liveness property's `fairness`, why a verdict is open (`reason`), a
    counterexample (`depth`, `message`, a lasso's `loop`, and its file,
    `trace`, or why it could not be written, `write_error`)."""

    id: str
    kind: str
    statement: str
    verdict: Verdict = Verdict.NOT_CHECKED
    bounded: bool | None = None
    checked_states: int | None = None
    complete_depth: int | None = None
    fairness: list[str] | None = None
    reason: str | None = None
    depth: int | None = None
    message: str | None = None
    loop: int | None = None
    trace: str | None = None
    write_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "statement": self.statement,
            "verdict": self.verdict,
        }
        with_set(doc, self, _OPTIONAL)
        return doc


_OPTIONAL = (
    "bounded",
    "checked_states",
    "complete_depth",
    "fairness",
    "reason",
    "depth",
    "message",
    "loop",
    "trace",
    "write_error",
)


@dataclass
class SearchSettings:
    """How the explicit search ran; the kernel is named once the run is
    done (`check`, not the gate's cells)."""

    depth: int
    symmetry: bool
    workers: int
    strict: bool
    kernel: str | None = None
    kernel_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "depth": self.depth,
            "symmetry": self.symmetry,
            "workers": self.workers,
            "strict": self.strict,
        }
        if self.kernel is not None:
            doc["kernel"] = self.kernel
            doc["kernel_note"] = self.kernel_note
        return doc


@dataclass
class ExplicitFigures:
    """What the explicit search did. `liveness_stopped` and `stop_reason`
    are written as null when unset; `memory`, `total_s` and
    `liveness_graph` only when the command measured them."""

    states: int
    transitions: int
    depth_reached: int
    stopped: str
    liveness_stopped: str | None
    stop_reason: str | None
    complete: bool
    truncated_states: int
    bounds_hit: dict[str, int]
    elapsed_s: float
    states_per_s: int
    memory: dict[str, Any] | None = None
    total_s: float | None = None
    liveness_graph: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "states": self.states,
            "transitions": self.transitions,
            "depth_reached": self.depth_reached,
            "stopped": self.stopped,
            "liveness_stopped": self.liveness_stopped,
            "stop_reason": self.stop_reason,
            "complete": self.complete,
            "truncated_states": self.truncated_states,
            "bounds_hit": self.bounds_hit,
            "elapsed_s": self.elapsed_s,
            "states_per_s": self.states_per_s,
        }
        with_set(doc, self, ("memory", "total_s", "liveness_graph"))
        return doc


@dataclass
class CheckSummary:
    """The explicit engine's run. `traces` holds each counterexample's ITF
    document, by property, for the text view; it is not part of the JSON."""

    version: str
    engine: str
    model: dict[str, Any]
    model_hash: str
    search: SearchSettings
    result: ExplicitFigures
    properties: list[PropertyResult]
    exit_code: int
    plugin: dict[str, Any] | None = None
    plugin_notes: list[str] | None = None
    checkpoint: dict[str, Any] | None = None
    graph: dict[str, Any] | None = None
    coverage: list[dict[str, Any]] | None = None
    traces: dict[str, dict] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": SUMMARY_SCHEMA,
            "version": self.version,
            "engine": self.engine,
            "model": self.model,
            "model_hash": self.model_hash,
            "search": self.search.to_json(),
            "result": self.result.to_json(),
            "properties": [p.to_json() for p in self.properties],
            "exit_code": self.exit_code,
        }
        with_set(doc, self, ("plugin", "plugin_notes", "checkpoint", "graph", "coverage"))
        return doc


@dataclass
class SmtFigures:
    """What bounded model checking did: the depth every property was decided
    to, why it stopped, the guarded commands of the transition relation and
    the solver's time per depth."""

    depth_reached: int
    stopped: str
    commands: int
    build_s: float
    elapsed_s: float
    per_depth_s: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            "depth_reached": self.depth_reached,
            "stopped": self.stopped,
            "commands": self.commands,
            "build_s": self.build_s,
            "elapsed_s": self.elapsed_s,
            "per_depth_s": self.per_depth_s,
        }


@dataclass
class Lemmas:
    """`--lemmas`: the invariants k-induction proved before BMC assumed them."""

    proved: list[str]
    unknown: str
    elapsed_s: float

    def to_json(self) -> dict[str, Any]:
        return {"proved": self.proved, "unknown": self.unknown, "elapsed_s": self.elapsed_s}


@dataclass
class SmtSummary:
    """Bounded model checking's run, in the explicit engine's shape: the same
    schema and property entries; `search` and `result` say what the solver
    did."""

    version: str
    model: dict[str, Any]
    model_hash: str
    depth: int
    solver_timeout_s: float | None
    result: SmtFigures
    properties: list[PropertyResult]
    exit_code: int
    lemmas: Lemmas | None = None
    traces: dict[str, dict] = field(default_factory=dict, repr=False)
    engine: str = "smt"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": SUMMARY_SCHEMA,
            "version": self.version,
            "engine": self.engine,
            "model": self.model,
            "model_hash": self.model_hash,
            "search": {"depth": self.depth, "solver_timeout_s": self.solver_timeout_s},
            "result": self.result.to_json(),
            "properties": [p.to_json() for p in self.properties],
            "exit_code": self.exit_code,
        }
        if self.lemmas is not None:
            doc["lemmas"] = self.lemmas.to_json()
        return doc


@dataclass
class EnginesSummary:
    """`--engine both`: the two runs and the properties they disagree on."""

    explicit: CheckSummary
    smt: SmtSummary
    disagree: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "explicit": self.explicit.to_json(),
            "smt": self.smt.to_json(),
            "disagree": self.disagree,
        }
