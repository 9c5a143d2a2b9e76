"""What every command's run gives, as typed values, and the one JSON writer.

Each command builds one summary (`check`: `CheckSummary`, or `SmtSummary`
for `--engine smt` and `EnginesSummary` for `both`; `prove`:
`ProofSummary`; `gate`: `GateSummary`; `conform`: `ConformSummary`;
`replay`: `ReplaySummary`) and its `to_json()` is the document `--json`
prints, field for field in the order users' scripts have always read.
Every JSON document a command prints or writes goes through `write`
(`json_text`, `print_json`, `write_json`); tests/test_results.py holds the
shapes and the few places that may call `json.dumps` themselves.
"""

from checker.results.check import (
    SUMMARY_SCHEMA,
    CheckSummary,
    EnginesSummary,
    ExplicitFigures,
    Lemmas,
    PropertyResult,
    SearchSettings,
    SmtFigures,
    SmtSummary,
)
from checker.results.runs import (
    ConformFailure,
    ConformSummary,
    GateCell,
    GateSummary,
    InvariantResult,
    ProgramRun,
    ProofSummary,
    ReplaySummary,
)
from checker.results.write import json_text, print_json, write_json

__all__ = [
    "SUMMARY_SCHEMA",
    "CheckSummary",
    "ConformFailure",
    "ConformSummary",
    "EnginesSummary",
    "ExplicitFigures",
    "GateCell",
    "GateSummary",
    "InvariantResult",
    "Lemmas",
    "ProgramRun",
    "ProofSummary",
    "PropertyResult",
    "ReplaySummary",
    "SearchSettings",
    "SmtFigures",
    "SmtSummary",
    "json_text",
    "print_json",
    "write_json",
]
