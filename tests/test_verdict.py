"""One enum of verdicts (checker/verdict.py): its words are the ones every
output has always written, no module of checker/ spells a verdict as a bare
string, and every command's producer gives `Verdict` members."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from checker.verdict import Verdict
from tests.conftest import ROOT, check_all

# The words of the JSON outputs, the gate's tables, JUnit and SARIF, and of
# the terminal: a change here changes what users and their scripts read.
VALUES = {
    Verdict.PASS: ("pass", "PASS"),
    Verdict.FAIL: ("fail", "FAIL"),
    Verdict.INCONCLUSIVE: ("inconclusive", "INCONCLUSIVE"),
    Verdict.UNKNOWN: ("unknown", "UNKNOWN"),
    Verdict.NOT_APPLICABLE: ("not-applicable", "n/a"),
    Verdict.NOT_CHECKED: ("not-checked", "not checked"),
    Verdict.NA: ("n/a", "n/a"),
    Verdict.PROVED: ("proved", "PROVED"),
    Verdict.NOT_PROVED: ("not-proved", "NOT PROVED"),
    Verdict.CONFORMS: ("conforms", "conforms"),
    Verdict.FAILS: ("fails", "fails"),
    Verdict.PARTIAL: ("partial", "partial"),
    Verdict.LIMIT: ("limit", "limit"),
    Verdict.TIMEOUT: ("timeout", "timeout"),
}


def test_every_verdict_keeps_its_words():
    assert set(VALUES) == set(Verdict)
    for v, (value, label) in VALUES.items():
        assert (v.value, str(v), f"{v}", v.label) == (value, value, value, label)
        assert json.dumps({"verdict": v}, indent=2) == json.dumps({"verdict": value}, indent=2)
        assert Verdict(value) is v and v == value


# ---- no verdict as a bare string --------------------------------------------------

# A string of checker/ equal to a verdict's value or label that is not a
# verdict, with how often each module has it: a new one fails the test, to be
# written as a `Verdict` member or, if it is no verdict, counted here.
NOT_VERDICTS = {
    ("checker/bench/search.py", "unknown"): (1, "the commit when git cannot say"),
    ("checker/smt/bmc.py", "unknown"): (8, "z3's answer to a query, the run's stop reason"),
    ("checker/smt/bmc.py", "timeout"): (1, "z3's option"),
    ("checker/smt/induction.py", "timeout"): (2, "z3's option"),
    ("checker/smt/induction.py", "unknown"): (1, "z3's reason when it gives none"),
}


def _verdict_words(root: Path = ROOT) -> dict[tuple[str, str], int]:
    """(module, word) -> occurrences of a string constant of checker/ equal to
    a verdict's value or label, outside checker/verdict.py. Dict keys (field
    names such as a summary's "fail" step) and the text around an f-string's
    fields are not verdicts."""
    words = {v.value for v in Verdict} | {v.label for v in Verdict}
    found: dict[tuple[str, str], int] = {}
    for path in sorted((root / "checker").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "checker/verdict.py":
            continue
        tree = ast.parse(path.read_text())
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                skip |= {id(x) for x in node.values}
            elif isinstance(node, ast.Dict):
                skip |= {id(k) for k in node.keys if k is not None}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in words
                and id(node) not in skip
            ):
                key = (rel, node.value)
                found[key] = found.get(key, 0) + 1
    return found


def test_no_verdict_is_a_bare_string_in_checker():
    found = _verdict_words()
    expected = {k: n for k, (n, _why) in NOT_VERDICTS.items()}
    assert {k: n for k, n in found.items() if k not in expected} == {}
    assert found == expected


def test_the_scan_finds_a_bare_verdict(tmp_path: Path):
    """The scan above sees the forms a verdict takes in the code."""
    (tmp_path / "checker").mkdir()
    (tmp_path / "checker" / "x.py").write_text(
        'v = "pass"\nif x == "FAIL" or y in ("n/a", "conforms"):\n    f(verdict="proved")\n'
        'd = {"fail": 1}\ns = f"{x} pass"\n'
    )
    assert _verdict_words(tmp_path) == {
        ("checker/x.py", w): 1 for w in ("pass", "FAIL", "n/a", "conforms", "proved")
    }


# ---- every producer gives Verdict members -----------------------------------------


def _all_verdicts(props: list) -> list:
    assert props
    return [p.verdict for p in props]


def test_a_check_summary_holds_verdict_members(tmp_path: Path):
    from checker.views.report import summarize
    from specs import properties_of

    # A safety failure, liveness left open by the depth bound, a property
    # not asked for.
    model, run = check_all(
        10, cores=1, workload="syscall-heavy", mutation="exitsyscall-no-cas", symmetry=False
    )
    props = [p for p in properties_of(model) if p.default and p.id != "no-lost-g"]
    summary = summarize(
        model, props, run.ex, depth=10, workers=1, symmetry=False, out_dir=tmp_path,
        all_props=[p for p in properties_of(model) if p.default], liveness=run.liveness,
    )  # fmt: skip
    got = _all_verdicts(summary.properties)
    assert all(type(v) is Verdict for v in got)
    assert {Verdict.FAIL, Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.NOT_CHECKED} <= set(got)
    assert all(type(lv.verdict) is Verdict for lv in run.liveness.values())


def test_a_stopped_check_and_bmc_hold_verdict_members():
    from checker.run import run_check
    from checker.smt.bmc import run_bmc
    from checker.smt.summary import summarize_bmc
    from checker.views.report import summarize
    from model.config import Config
    from model.factory import build_model
    from specs import properties_of

    model = build_model(Config(cores=2))
    props = [p for p in properties_of(model) if p.default]
    run = run_check(model, props, depth=10, max_states=300, kernel="python")
    summary = summarize(
        model, props, run.ex, depth=10, workers=1, symmetry=True, out_dir=None,
        liveness=run.liveness, live_ex=run.live_ex,
    )  # fmt: skip
    got = _all_verdicts(summary.properties)
    assert Verdict.UNKNOWN in got and all(type(v) is Verdict for v in got)

    model = build_model(Config(cores=1), symmetry=False)
    safety = [p for p in props if p.kind != "liveness"]
    bmc = run_bmc(model, safety, 2)
    assert all(type(f.verdict) is Verdict for f in bmc.findings.values())
    got = _all_verdicts(summarize_bmc(model, safety, bmc, out_dir=None).properties)
    assert Verdict.PASS in got and all(type(v) is Verdict for v in got)


def test_prove_conform_and_the_gate_give_verdict_members():
    from checker.gate.cells import matrix
    from checker.golang.conform import check_events, exit_code
    from checker.golang.gotrace import parse_dump
    from checker.smt.induction import ProofResult
    from checker.views.report import EXIT_INCONCLUSIVE, EXIT_OK

    proof = ProofResult(["a"], {"b": None}, {"c": "fails at depth 0"})
    got = [proof.verdict(c) for c in "abcd"]
    assert got == [Verdict.PROVED, Verdict.NOT_PROVED, Verdict.FAIL, Verdict.UNKNOWN]
    assert all(type(v) is Verdict for v in got)

    dump = ROOT / "tests" / "conform" / "traces" / "spawn-p2.parsed.txt"
    events = parse_dump(dump.read_text(), str(dump))
    for max_states, want, code in (
        (200_000, Verdict.CONFORMS, EXIT_OK),
        (1, Verdict.LIMIT, EXIT_INCONCLUSIVE),
    ):
        res, _ = check_events(events, "spawn-p2", max_states)
        assert type(res.verdict) is Verdict and res.verdict == want
        assert exit_code(res.verdict) == code

    expected = [v for c in matrix() for v in c.expect.values()]
    assert expected and all(type(v) is Verdict for v in expected)
