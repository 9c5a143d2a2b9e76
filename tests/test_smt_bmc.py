"""Bounded model checking against the explicit engine: the same violated
property at the same shortest depth for the mutations, no violation for the
correct model, and the command line's verdicts, traces and exit codes."""

from __future__ import annotations

import json
import os

import pytest
from conftest import run_cli

from checker.engine.explore import explore
from checker.engine.trace import rebuild
from checker.results import PropertyResult
from checker.smt.bmc import run_bmc
from checker.smt.cli import disagreements
from checker.smt.induction import proof_invariants, prove
from checker.verdict import Verdict
from checker.views.itf import read_trace
from model.config import Config
from model.factory import build_model
from model.mutations import MUTATIONS
from specs import properties_of

# Safety mutations whose shortest violation BMC reaches within the test budget
# (cores 1 or 2, depth <= 14)...
SHALLOW = [
    "exitsyscall-no-cas",
    "wakep-leaks-nmspinning",
    "exitsyscall-drops-g",
    "retake-no-incidlelocked",
    "exitsyscall0-skips-casgstatus",
    "steal-not-atomic",
]
# ...and those whose shortest violation is deep (23 steps and more): there
# both engines must agree that nothing fails in the first DEEP_PREFIX steps.
SAFETY_MUTATIONS = [
    m.name
    for m in MUTATIONS.values()
    if m.violates and not m.benign and m.check_at.get("steps", "fine") == "fine"
]
DEEP = [m for m in SAFETY_MUTATIONS if m not in SHALLOW]
DEEP_PREFIX = 5


def test_the_lists_cover_every_safety_mutation():
    assert set(SHALLOW) <= set(SAFETY_MUTATIONS)
    assert DEEP, "the deep list is what the shallow one leaves"


def setup(name: str, **instead):
    """The mutation's model at its registry configuration, or with `instead`'s
    fields (depth included) in place of the registry's."""
    at = {**MUTATIONS[name].check_at, **instead}
    depth = at.pop("depth")
    model = build_model(Config(mutation=name, **at), symmetry=False)
    props = [p for p in properties_of(model) if p.default and p.kind != "liveness"]
    return model, props, depth


def explicit_depths(model, props, depth: int) -> dict[str, int]:
    ex = explore(model, props, depth=depth)
    by_id = {p.id: p for p in props}
    return {pid: len(rebuild(model, ex, v, by_id[pid])) - 1 for pid, v in ex.violations.items()}


def assert_same_shortest(name: str, model, props, depth: int, lemmas=True):
    """BMC to the explicit engine's shortest violation finds every property the
    explicit engine found failing by then, at the same depth, and no other."""
    want = explicit_depths(model, props, depth)
    first = min(want.values())
    assert set(want) & set(MUTATIONS[name].violates)
    res = run_bmc(model, props, first, lemmas=lemmas)
    got = {pid: f.depth for pid, f in res.findings.items() if f.verdict == "fail"}
    assert got == {pid: d for pid, d in want.items() if d <= first}
    return res


@pytest.mark.parametrize("name", SHALLOW)
def test_same_violation_at_the_same_shortest_depth(name):
    model, props, depth = setup(name)
    res = assert_same_shortest(name, model, props, depth)
    for pid in (p for p, f in res.findings.items() if f.verdict == "fail"):
        steps = res.findings[pid].steps
        assert steps[0].state in model.initial_states()
        assert res.findings[pid].message


@pytest.mark.parametrize("name", DEEP)
def test_deep_violations_agree_on_the_prefix(name):
    model, props, _ = setup(name)
    res = run_bmc(model, props, DEEP_PREFIX)
    assert {f.verdict for f in res.findings.values()} == {"pass"}
    assert explicit_depths(model, props, DEEP_PREFIX) == {}


# The deep mutations BMC reaches at full depth once it assumes what k-induction
# proved (--lemmas), at their registry configuration or a smaller one with a
# shorter counterexample: 3 to 5 minutes each, so only with GMPCHECK_SMT_DEEP=1.
# recheck-before-decrement is out of reach (docs/smt.md).
DEEP_FULL = {
    "no-needspinning": {},
    "resetspinning-no-wakep": {},
    "handoffp-ignores-global-queue": {"cores": 3, "workload": "mixed", "depth": 9},
}


def test_the_deep_full_list_is_deep():
    assert set(DEEP_FULL) <= set(DEEP)


@pytest.mark.skipif(
    os.environ.get("GMPCHECK_SMT_DEEP") != "1", reason="minutes each: GMPCHECK_SMT_DEEP=1"
)
@pytest.mark.parametrize("name", sorted(DEEP_FULL))
def test_deep_violation_at_the_same_shortest_depth_with_lemmas(name):
    model, props, depth = setup(name, **DEEP_FULL[name])
    proof = prove(model, proof_invariants(model), k=1)
    assert_same_shortest(name, model, props, depth, lemmas=proof.lemmas)


def test_correct_model_agrees_no_violation():
    model = build_model(Config(cores=2), symmetry=False)
    props = [p for p in properties_of(model) if p.default and p.kind != "liveness"]
    res = run_bmc(model, props, 6)
    assert res.depth_reached == 6
    assert {f.verdict for f in res.findings.values()} == {"pass"}
    assert explicit_depths(model, props, 6) == {}


def test_lemmas_change_no_verdict_and_no_depth():
    """BMC assuming the invariants k-induction proved for this model finds the
    same violations at the same depths: the mutation's broken invariant is
    not among the lemmas (prove does not prove it), so nothing real is cut.
    (test_cli_both_with_lemmas_agree does the same for exitsyscall-drops-g.)"""
    name = "exitsyscall-no-cas"
    model, props, depth = setup(name)
    proof = prove(model, proof_invariants(model), k=1)
    assert not set(MUTATIONS[name].violates) & set(proof.proved)
    plain = run_bmc(model, props, depth)
    strengthened = run_bmc(model, props, depth, lemmas=proof.lemmas)

    def verdicts(res):
        return {pid: (f.verdict, f.depth) for pid, f in res.findings.items()}

    assert verdicts(strengthened) == verdicts(plain)
    assert any(f.verdict == "fail" for f in strengthened.findings.values())


def test_cli_both_with_lemmas_agree(out_dir):
    code, out, err = run_cli(
        "--engine", "both", "--lemmas", "--mutation", "exitsyscall-drops-g", "--cores", "1",
        "--workload", "syscall-heavy", "--depth", "11", "--json", "--quiet",
        "--out", str(out_dir),
    )  # fmt: skip
    assert code == 1, err
    doc = json.loads(out)
    assert doc["disagree"] == []
    lemmas = doc["smt"]["lemmas"]
    assert lemmas["proved"] and "no-lost-g" not in lemmas["proved"]
    failed = {p["id"]: p["depth"] for p in doc["smt"]["properties"] if p["verdict"] == "fail"}
    assert "no-lost-g" in failed  # at the depth the explicit engine finds (disagree is empty)


def test_cli_smt_writes_a_trace_the_viewer_reads(out_dir):
    code, out, err = run_cli(
        "--engine", "smt", "--mutation", "exitsyscall-no-cas", "--cores", "1",
        "--workload", "syscall-heavy", "--depth", "8", "--json", "--quiet", "--out", str(out_dir),
    )  # fmt: skip
    assert code == 1, err
    summary = json.loads(out)
    fail = [p for p in summary["properties"] if p["verdict"] == "fail"]
    assert [p["id"] for p in fail] == ["p-ownership"]
    doc = read_trace(fail[0]["trace"])
    assert doc["#meta"]["gmpcheck"]["engine"] == "smt"
    assert len(doc["states"]) == fail[0]["depth"] + 1
    code, out, err = run_cli("view", fail[0]["trace"], "--no-pager", "--compact")
    assert code == 0 and "p-ownership" in out, err


def test_cli_both_agree(out_dir):
    code, out, err = run_cli(
        "--engine", "both", "--mutation", "wakep-leaks-nmspinning", "--cores", "2",
        "--depth", "4", "--property", "spinning-accounting,no-lost-g", "--json", "--quiet",
        "--out", str(out_dir),
    )  # fmt: skip
    assert code == 1, err
    doc = json.loads(out)
    assert doc["disagree"] == []
    assert (out_dir / "smt").is_dir()


def test_disagreement_is_reported():
    def entries(*rows: tuple[str, Verdict, int | None]) -> list[PropertyResult]:
        return [PropertyResult(i, "invariant", "", v, depth=d) for i, v, d in rows]

    ex = entries(("a", Verdict.FAIL, 3), ("b", Verdict.PASS, None), ("c", Verdict.PASS, None))
    smt = entries(
        ("a", Verdict.FAIL, 4), ("b", Verdict.PASS, None), ("c", Verdict.INCONCLUSIVE, None)
    )
    got = disagreements(ex, smt, 6)
    assert len(got) == 1 and got[0].startswith("a: explicit fails at depth 3, smt fails at depth 4")


def test_solver_timeout_is_inconclusive(out_dir):
    code, out, err = run_cli(
        "--engine", "smt", "--cores", "2", "--depth", "12", "--solver-timeout", "0.001",
        "--json", "--quiet", "--out", str(out_dir),
    )  # fmt: skip
    assert code == 4, err
    summary = json.loads(out)
    reasons = [p.get("reason", "") for p in summary["properties"] if p["verdict"] == "inconclusive"]
    assert reasons and all(r.startswith("solver: ") for r in reasons)
    assert not [p for p in summary["properties"] if p["verdict"] == "pass"]


@pytest.mark.parametrize(
    "args",
    [
        ("--depth", "0"),
        ("--steps", "macro"),
        ("--solver-timeout", "-1"),
        ("--property", "progress"),
    ],
)
def test_cli_smt_usage_errors(args, out_dir):
    code, out, err = run_cli("--engine", "smt", "--cores", "1", *args, "--out", str(out_dir))
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
