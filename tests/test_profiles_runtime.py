"""record and replay under the go1.26 profile: the reference runtime
implements go1.25's system-call path only, so both refuse go1.26 with exit 2
and the reason, before any thread runs."""

from __future__ import annotations

from conftest import run_cli


def test_replay_refuses_a_go126_counterexample(tmp_path):
    code, out, err = run_cli(
        "--profile", "go1.26", "--cores", "1", "--workload", "syscall-heavy",
        "--mutation", "exitsyscall-drops-g", "--depth", "11", "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 1, out + err
    (trace,) = tmp_path.glob("no-lost-g-*.itf.json")
    code, out, err = run_cli("replay", str(trace))
    assert code == 2 and out == ""
    assert "implements the go1.25 profile only, not go1.26" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_record_refuses_go126(tmp_path):
    code, out, err = run_cli("record", "--profile", "go1.26", "--out", str(tmp_path))
    assert code == 2 and "implements the go1.25 profile only" in err
    assert not list(tmp_path.iterdir())  # nothing recorded


def test_record_and_replay_help_print_their_own_exit_codes():
    for cmd, line in (
        ("record", "1   accepted, but a safety property is violated"),
        ("replay", "5   the runtime parts ways with the trace"),
    ):
        code, out, _ = run_cli(cmd, "--help")
        assert code == 0 and line in out and "go1.26" in out
        assert "3   a liveness property" not in out  # check's table is not theirs
