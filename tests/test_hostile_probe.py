"""The hostile probe's quick subset (`python -m checker.bench.hostile --quick
--json`): every bad input it tries is handled cleanly, every fault it
injects is survived, and no data is lost."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_the_quick_probe_finds_no_failure_and_no_lost_data():
    proc = subprocess.run(
        [sys.executable, "-m", "checker.bench.hostile", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    doc = json.loads(proc.stdout)
    inputs, faults = doc["inputs"], doc["faults"]
    assert inputs["tried"] >= 20 and faults["injected"] >= 5, doc
    assert inputs["failures"] == [], inputs["failures"]
    assert faults["failures"] == [], faults["failures"]
    assert inputs["clean"] == inputs["tried"]
    assert faults["survived"] == faults["injected"] and faults["data_lost"] == 0
    assert proc.returncode == 0, proc.stderr[-2000:]
