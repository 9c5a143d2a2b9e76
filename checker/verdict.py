"""Every verdict gmpcheck gives, as one enum.

A `Verdict` is a `str`: its value is the word the JSON outputs, the gate's
manifest, JUnit and SARIF write (`json.dumps(Verdict.PASS)` is `"pass"`, an
f-string shows `pass`), and a verdict read back from JSON compares equal to
its member. `label` is the word the terminal shows for a property's or an
invariant's verdict.

Each command gives some of them:

- `check`, both engines (checker/views/report.py, checker/smt/summary.py),
  per property: pass, fail, inconclusive, unknown, not-applicable,
  not-checked; the liveness search (checker/engine/liveness.py) gives pass,
  fail, inconclusive or not-applicable, bounded model checking
  (checker/smt/bmc.py) pass, fail or unknown;
- `prove` (checker/smt/induction.py), per invariant: proved, not-proved,
  fail, unknown;
- `gate` (checker/gate/): the cell's verdicts as `check` and `prove` give
  them, with not-applicable written n/a;
- `conform` (checker/golang/), per trace: conforms, fails, partial, limit;
  its benchmark (checker/bench/conform.py) also timeout.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    # a property's (check, gate)
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # what the bound allows: no verdict either way
    UNKNOWN = "unknown"  # the run stopped before it decided
    NOT_APPLICABLE = "not-applicable"
    NOT_CHECKED = "not-checked"
    NA = "n/a"  # the gate's spelling of not-applicable
    # an invariant's (prove, the gate's proof cell)
    PROVED = "proved"
    NOT_PROVED = "not-proved"
    # an execution trace's (conform)
    CONFORMS = "conforms"
    FAILS = "fails"
    PARTIAL = "partial"  # conforms up to where the trace stops being checkable
    LIMIT = "limit"  # --max-states cut the search: inconclusive
    TIMEOUT = "timeout"  # the conform benchmark's check ran out of time

    @property
    def label(self) -> str:
        """The word the terminal shows: PASS, FAIL, INCONCLUSIVE, n/a..."""
        return _LABELS.get(self, self.value)


_LABELS = {
    Verdict.PASS: "PASS",
    Verdict.FAIL: "FAIL",
    Verdict.INCONCLUSIVE: "INCONCLUSIVE",
    Verdict.UNKNOWN: "UNKNOWN",
    Verdict.NOT_APPLICABLE: "n/a",
    Verdict.NOT_CHECKED: "not checked",
    Verdict.PROVED: "PROVED",
    Verdict.NOT_PROVED: "NOT PROVED",
}
