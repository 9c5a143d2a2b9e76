"""The README's plug-in examples (examples/) give the output the README shows."""

from __future__ import annotations

import re

from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text()


def test_the_variant_example_loses_a_goroutine(tmp_path):
    code, out, err = run_cli(
        "--model", "examples/drops_old_runnext.py:DropsOldRunnext", "--cores", "1",
        "--workload", "spawn-burst", "--depth", "10", "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 1, err
    line = next(ln for ln in out.splitlines() if ln.startswith("  no-lost-g"))
    assert re.match(r"  no-lost-g +FAIL  at depth 4  -> ", line)
    assert "no-lost-g violated after 4 steps" in out
    # The README shows the same verdict and message.
    assert "no-lost-g             FAIL  at depth 4" in README
    assert "G1 is runnable but in no run queue, M or transit slot: it is lost" in out


def test_the_workload_example_passes_every_property(tmp_path):
    code, out, err = run_cli(
        "--model", "examples/handoff_workload.py:Handoff", "--cores", "1", "--depth", "0",
        "--steps", "macro", "--period", "2", "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert "states    165 distinct, 234 transitions, depth reached 20" in out
    from specs import all_properties

    n = len([p for p in all_properties() if p.default])
    assert f"result    {n} PASS: exit 0, nothing violated" in out
    assert f"result    {n} PASS: exit 0, nothing violated" in README
    assert "165 distinct, 234 transitions, depth reached 20" in README
