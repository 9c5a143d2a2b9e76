"""The command line as a user meets it: the canonical run, errors, exit codes, JSON."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from checker.views.itf import read_trace


def test_canonical_run_passes_safety_and_is_inconclusive_on_liveness(tmp_path):
    code, out, err = run_cli("--cores", "4", "--depth", "12", "--quiet", "--out", str(tmp_path))
    # Liveness cannot be decided 12 steps deep: INCONCLUSIVE, named, and not a
    # failure of the run (the exit-code contract: nothing is violated).
    assert code == 0, out + err
    from specs import all_properties

    safety = [p for p in all_properties() if p.default and p.kind != "liveness"]
    assert f"result    {len(safety)} PASS, 4 INCONCLUSIVE: exit 0" in out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ") and ln.split()}
    for pid in (
        "no-lost-g",
        "p-ownership",
        "spinning-accounting",
        "status-transitions",
        "no-checkdead",
        "work-conservation",
        "deadlock",
    ):
        assert "PASS  (up to depth 12)" in lines[pid]
    for pid in ("progress", "no-starvation", "eventual-parallelism", "termination"):
        assert "INCONCLUSIVE" in lines[pid]
    assert "fairness: m, sysmon, timeslice, steal, signal, syscall" in out
    assert not list(tmp_path.glob("*"))  # nothing written when nothing fails


def test_json_summary_follows_its_schema(tmp_path):
    code, out, _ = run_cli(
        "check",
        "--cores",
        "2",
        "--workload",
        "spawn-burst",
        "--mutation",
        "no-needspinning",
        "--depth",
        "25",
        "--json",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert code == 1
    d = json.loads(out)
    assert d["schema"] == "gmpcheck.summary/1" and d["exit_code"] == 1
    assert set(d["result"]) >= {
        "states",
        "transitions",
        "depth_reached",
        "stopped",
        "complete",
        "truncated_states",
        "elapsed_s",
        "states_per_s",
    }
    verdicts = {p["id"]: p for p in d["properties"]}
    wc = verdicts["work-conservation"]
    assert wc["verdict"] == "fail" and wc["depth"] == 23
    doc = read_trace(wc["trace"])
    assert doc["#meta"]["gmpcheck"]["property"] == "work-conservation"
    for v in verdicts.values():
        if v["kind"] == "liveness":
            assert v["verdict"] == "inconclusive" and v["fairness"] and v["reason"]
        else:
            assert v["verdict"] in ("pass", "fail")


def test_a_failing_run_prints_the_trace_and_its_file(tmp_path):
    code, out, _ = run_cli(
        "--cores",
        "1",
        "--workload",
        "syscall-heavy",
        "--mutation",
        "exitsyscall-drops-g",
        "--depth",
        "11",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert code == 1
    assert re.search(r"no-lost-g +FAIL  at depth 9", out)
    assert "exitsyscall0(m=0, g=0, globrunqput) (the G is not queued)" in out
    assert "no-lost-g fails here: G0 is runnable but in no run queue" in out
    files = list(tmp_path.glob("*.itf.json"))
    assert [f.name for f in files] == ["no-lost-g-syscall-heavy-c1-exitsyscall-drops-g.itf.json"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--cores", "0"], "--cores must be at least 1"),
        (["--cores", "-1"], "--cores must be at least 1"),
        (["--depth", "x"], "--depth must be a whole number"),
        (["--workload", "nope"], "unknown workload 'nope'"),
        (["--mutation", "nope"], "unknown mutation 'nope'"),
        (["--property", "nope"], "unknown property 'nope'"),
        (["--model", "missing.py:X"], "missing.py: no such file"),
        (["--model", "nofile"], "expected FILE:NAME"),
        (["--cores", "9"], "--cores must be at most 8"),
        (["--ring", "1"], "--ring must be a power of two from 2 to 16"),
        (["--ring", "3"], "--ring must be a power of two from 2 to 16"),
        (["--ring", "32"], "--ring must be a power of two from 2 to 16"),
        (["--max-ms", "2", "--cores", "4"], "--max-ms 2 is below the 4 threads"),
        (["record", "--ring", "1"], "--ring must be a power of two"),
        (["--period", "251"], "--period must be between 1 and 250"),
        (["--steal-tries", "9"], "--steal-tries must be between 1 and 8"),
        (["--max-ms", "300", "--cores", "1"], "--max-ms must be at most 249"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["view", "missing.json"], "missing.json: no such file"),
        (["bench", "--liveness-config", "nope,2"], "expected WORKLOAD,CORES"),
        (["bench", "--liveness-config", "mixed,x"], "expected WORKLOAD,CORES"),
        (["--lemmas"], "--lemmas is for --engine smt or both"),
        (["--out", "/dev/null"], "--out /dev/null: /dev/null is not a directory"),
        (["--out", "/dev/null/sub"], "/dev/null is not a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path):
    extra = {"view": ["--full"], "bench": ["--runs", "1"], "record": []}.get(args[0], ["--quiet"])
    code, out, err = run_cli(*args, *extra, cwd=tmp_path)
    assert code == 2, (out, err)
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_missing_dependency_is_one_line_and_exit_2():
    """`python -m checker` from a checkout that was not installed: what to do,
    not a traceback."""
    run = "import sys, runpy; sys.modules['rich'] = None; "
    run += "sys.argv = ['checker', '--cores', '1', '--depth', '1']; "
    run += "runpy.run_module('checker', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", run], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "'rich' is not installed: pip install" in proc.stderr


def test_plugin_that_does_not_define_the_name(tmp_path):
    f = tmp_path / "variant.py"
    f.write_text("X = 1\n")
    code, _, err = run_cli("--model", f"{f}:Missing", "--quiet")
    assert code == 2 and "does not define 'Missing'" in err
    code, _, err = run_cli("--model", f"{f}:X", "--quiet")
    assert code == 2 and "not a GMPModel subclass" in err


def test_plugin_variant_is_checked_without_editing_the_package(tmp_path):
    f = tmp_path / "variant.py"
    f.write_text(
        "from model.gmp import GMPModel\n"
        "from model.pcs import PC\n"
        "class NoRunnext(GMPModel):\n"
        "    '''runqput ignores next=true: new G's go to the ring tail.'''\n"
        "    mutation_name = 'no-runnext'\n"
        "    def runqput_next(self, s, m, p, g):\n"
        "        s[self.L.gp[m]] = g\n"
        "        self.call(s, m, PC.RUNQPUT_RING, PC.RUN)\n"
    )
    code, out, err = run_cli(
        "--model",
        f"{f}:NoRunnext",
        "--cores",
        "2",
        "--workload",
        "spawn-burst",
        "--depth",
        "14",
        "--quiet",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 0, out + err  # safety passes; liveness is undecided at depth 14
    assert "mutation  no-runnext" in out
    assert re.search(r"no-lost-g +PASS", out)


def test_max_states_is_inconclusive_with_a_partial_summary(tmp_path):
    code, out, _ = run_cli(
        "--cores", "2", "--depth", "0", "--max-states", "2000", "--quiet", "--out", str(tmp_path)
    )
    assert code == 4
    assert "stopped at --max-states, partial)" in out and "UNKNOWN" in out
    assert "((" not in out and "))" not in out
    # What the partial search established, per property.
    established = r"no violation in [\d,]+ states, complete to depth \d+"
    assert re.search(r"no-lost-g +UNKNOWN  \(" + established, out)


def test_strict_turns_an_inconclusive_verdict_into_exit_4(tmp_path):
    args = ("--cores", "2", "--depth", "8", "--quiet", "--out", str(tmp_path))
    code, out, _ = run_cli(*args)
    assert code == 0 and "INCONCLUSIVE" in out
    code, out, _ = run_cli(*args, "--strict")
    assert code == 4 and "INCONCLUSIVE" in out and "--strict" in out.splitlines()[-1]
    # Safety alone at a depth bound has nothing inconclusive: 0 either way.
    code, _, _ = run_cli(*args, "--strict", "--property", "no-lost-g")
    assert code == 0


def test_list_names_every_workload_mutation_and_property():
    code, out, _ = run_cli("list", "--json")
    assert code == 0
    d = json.loads(out)
    from model.mutations import MUTATIONS
    from model.workloads import WORKLOADS

    assert {w["name"] for w in d["workloads"]} == set(WORKLOADS)
    assert {m["name"] for m in d["mutations"]} == set(MUTATIONS)
    for m in d["mutations"]:
        assert m["check_at"]["depth"] >= 0 and (m["benign"] or m["violates"])
    code, text, _ = run_cli("list")
    assert code == 0 and "recheck-before-decrement" in text and "work-conservation" in text


def test_help_documents_the_exit_codes():
    code, out, _ = run_cli("--help")
    assert code == 0 and "70  internal error" in out and "5   replay divergence" in out
    code, out, _ = run_cli("check", "--help")
    assert code == 0 and "--no-symmetry" in out and "exit codes" in out


def test_ctrl_c_prints_a_partial_summary_and_leaves_no_half_written_file(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "checker",
            "--cores",
            "3",
            "--depth",
            "0",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
            "--mutation",
            "steal-not-atomic",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (1, 4), (out, err)
    assert "interrupted, partial" in out
    assert "Traceback" not in err
    for f in tmp_path.glob("*"):
        assert not f.name.startswith("."), f"temporary file left behind: {f}"
        read_trace(f)  # every file written is whole


def test_view_shows_changes_steps_and_filters(tmp_path):
    run_cli(
        "--cores",
        "1",
        "--workload",
        "syscall-heavy",
        "--mutation",
        "exitsyscall-drops-g",
        "--depth",
        "11",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    trace = next(tmp_path.glob("*.itf.json"))
    code, out, _ = run_cli("view", str(trace))
    assert code == 0
    assert "no-lost-g violated after" in out and "   0  init" in out
    assert "M[0].pc: EXITSYSCALL0 -> STOPM" in out
    code, out, _ = run_cli("view", str(trace), "--step", "3")
    assert code == 0 and "   3  " in out and "   4  " not in out
    code, out, _ = run_cli("view", str(trace), "--fields", "sched")
    assert code == 0 and "sched.nmspinning" in out and "M[0].pc" not in out
    code, out, _ = run_cli("view", str(trace), "--full", "--step", "0")
    assert code == 0 and "G[0].status = running" in out
    code, _, err = run_cli("view", str(trace), "--step", "99")
    assert code == 2 and "the trace has steps 0.." in err


@pytest.mark.parametrize(
    "content,needle",
    [
        ("{not json", "not valid JSON"),
        ("[]", "not an ITF trace"),
        ('{"#meta": {"source": "other"}}', "not a gmpcheck trace"),
        (
            '{"#meta": {"source": "gmpcheck", "schema": "gmpcheck.trace/99"}}',
            "unknown trace schema",
        ),
    ],
)
def test_view_rejects_bad_files_in_one_line(tmp_path, content, needle):
    f = tmp_path / "t.json"
    f.write_text(content)
    code, _, err = run_cli("view", str(f))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_view_rejects_a_truncated_trace(tmp_path):
    run_cli(
        "--cores",
        "1",
        "--workload",
        "syscall-heavy",
        "--mutation",
        "exitsyscall-drops-g",
        "--depth",
        "11",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    trace = next(tmp_path.glob("*.itf.json"))
    doc = json.loads(trace.read_text())
    doc["states"] = doc["states"][:5]
    bad = tmp_path / "truncated.json"
    bad.write_text(json.dumps(doc))
    code, _, err = run_cli("view", str(bad))
    assert code == 2 and "truncated" in err
    Path(bad).write_text(trace.read_text()[:200])
    code, _, err = run_cli("view", str(bad))
    assert code == 2 and "not valid JSON" in err
