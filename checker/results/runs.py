"""The summaries of `prove`, `gate`, `conform` and `replay`, each with the
JSON document its `--json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checker.results.check import with_set
from checker.verdict import Verdict

PROOF_SCHEMA = "gmpcheck.proof/1"
GATE_SCHEMA = "gmpcheck.gate/1"
REPLAY_SCHEMA = "gmpcheck.replay/1"


# ---- prove ----------------------------------------------------------------------------


@dataclass
class InvariantResult:
    """One candidate invariant's verdict: proved at `k`, failing in an
    initial state (`reason`), not proved (the candidates its counterexample
    to induction `broken` breaks, that counterexample's `trace` file, or
    null and the raw `states` when it has no readable view), or unknown
    (`reason`)."""

    id: str
    target: bool
    verdict: Verdict
    reason: str | None = None
    k: int | None = None
    broken: list[str] | None = None
    trace: str | None = None
    states: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.id, "target": self.target, "verdict": self.verdict}
        with_set(doc, self, ("reason", "k"))
        if self.verdict == Verdict.NOT_PROVED:
            doc["broken"] = self.broken
            doc["trace"] = self.trace
            if self.states is not None:
                doc["states"] = self.states
        return doc


@dataclass
class ProofSummary:
    """k-induction's run. `traces`: each counterexample to induction's ITF
    document, by invariant, for the text view (not part of the JSON)."""

    version: str
    model: dict[str, Any]
    model_hash: str
    k: int
    rounds: int
    elapsed_s: float
    per_round_s: list[float]
    invariants: list[InvariantResult]
    exit_code: int
    traces: dict[str, dict] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": PROOF_SCHEMA,
            "version": self.version,
            "model": self.model,
            "model_hash": self.model_hash,
            "k": self.k,
            "rounds": self.rounds,
            "elapsed_s": self.elapsed_s,
            "per_round_s": self.per_round_s,
            "invariants": [e.to_json() for e in self.invariants],
            "exit_code": self.exit_code,
        }


# ---- gate -----------------------------------------------------------------------------


@dataclass
class GateCell:
    """One cell of the gate: what it ran, what it expected, what it got."""

    id: str
    kind: str
    config: dict[str, Any]
    expect: dict[str, Verdict]
    verdicts: dict[str, Verdict]
    counts: dict[str, int]
    ok: bool
    problem: str
    trace: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "config": self.config,
            "expect": self.expect,
            "verdicts": self.verdicts,
            "counts": self.counts,
            "ok": self.ok,
            "problem": self.problem,
            "trace": self.trace,
        }


@dataclass
class GateSummary:
    """The gate's run: its cells, the manifest's differences, the exit code;
    a whole run adds the coverage (with --coverage) and its gaps, a stopped
    run the reason it stopped."""

    cells: list[GateCell]
    manifest_diff: list[str]
    exit_code: int
    coverage: dict[str, list[dict[str, Any]]] | None = None
    coverage_gaps: list[str] | None = None
    stopped: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": GATE_SCHEMA,
            "cells": [c.to_json() for c in self.cells],
            "manifest_diff": self.manifest_diff,
            "exit_code": self.exit_code,
        }
        with_set(doc, self, ("coverage", "coverage_gaps", "stopped"))
        return doc


# ---- conform --------------------------------------------------------------------------


@dataclass
class ProgramRun:
    """A program `conform` ran: the toolchain, its settings, the saved trace."""

    go_version: str
    gomaxprocs: int | None
    godebug: str
    trace: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "go_version": self.go_version,
            "gomaxprocs": self.gomaxprocs,
            "godebug": self.godebug,
        }
        with_set(doc, self, ("trace",))
        return doc


@dataclass
class ConformFailure:
    """The first event the model cannot explain, and what was possible
    just before it."""

    event_index: int
    line: int
    event: str
    states_before: int
    observed_before: str | None
    examples: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "event_index": self.event_index,
            "line": self.line,
            "event": self.event,
            "states_before": self.states_before,
            "observed_before": self.observed_before,
            "examples": self.examples,
        }


@dataclass
class ConformSummary:
    """An execution trace checked against the model."""

    schema: str
    source: str
    profile: str
    verdict: Verdict
    events: int
    checked_events: int
    state_transitions: int
    elapsed_s: float
    events_per_s: int
    procs: int
    threads: int
    goroutine_slots: int
    program_gs: list[int]
    runtime_gs: list[int]
    peak_frontier: int
    peak_closure: int
    expansions: int
    reason: str | None
    program_end: bool
    exit_code: int
    run: ProgramRun | None = None
    failure: ConformFailure | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": self.schema,
            "source": self.source,
            "profile": self.profile,
            "verdict": self.verdict,
            "events": self.events,
            "checked_events": self.checked_events,
            "state_transitions": self.state_transitions,
            "elapsed_s": self.elapsed_s,
            "events_per_s": self.events_per_s,
            "model": {
                "procs": self.procs,
                "threads": self.threads,
                "goroutine_slots": self.goroutine_slots,
            },
            "goroutines": {"program": self.program_gs, "runtime": self.runtime_gs},
            "search": {
                "peak_frontier": self.peak_frontier,
                "peak_closure": self.peak_closure,
                "expansions": self.expansions,
            },
            "reason": self.reason,
            "program_end": self.program_end,
        }
        if self.run is not None:
            doc.update(self.run.to_json())
        if self.failure is not None:
            doc["failure"] = self.failure.to_json()
        doc["exit_code"] = self.exit_code
        return doc


# ---- replay ---------------------------------------------------------------------------


@dataclass
class ReplaySummary:
    """A trace replayed on the reference runtime's threads: how far it went,
    where it parted ways with the trace (`divergence`), what it reproduced."""

    trace: str
    runtime_mutation: str | None
    plugin: str | None
    steps: int
    replayed: int
    cycles: int
    stutters: bool
    fine_steps: int
    threads: list[str]
    elapsed_s: float
    divergence: dict[str, Any] | None
    property: str | None
    reproduced: str | None
    exit_code: int

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": REPLAY_SCHEMA,
            "trace": self.trace,
            "runtime_mutation": self.runtime_mutation,
            "plugin": self.plugin,
            "steps": self.steps,
            "replayed": self.replayed,
            "cycles": self.cycles,
            "stutters": self.stutters,
            "fine_steps": self.fine_steps,
            "threads": self.threads,
            "elapsed_s": self.elapsed_s,
            "divergence": self.divergence,
            "property": self.property,
            "reproduced": self.reproduced,
            "notes": [],  # schema /1 keeps the key; nothing fills it since labels are not compared
            "exit_code": self.exit_code,
        }
