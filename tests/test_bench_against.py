"""`bench --against REV`: each side runs its own commit's code, the two
trees are measured alternately, and nothing is left behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from checker.bench.against import AgainstError, compare, describe
from checker.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _git(*argv: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *argv], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, str]:
    """A clone of this checkout whose working tree is HEAD, with one more
    commit (not checked out) whose default workload is another one."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    d = tmp_path_factory.mktemp("against") / "repo"
    _git("clone", "-q", "--no-hardlinks", str(ROOT), str(d), cwd=ROOT)
    for k, v in (("user.name", "bench"), ("user.email", "bench@example.invalid")):
        _git("config", k, v, cwd=d)
    cfg = d / "model" / "workloads.py"
    cfg.write_text(
        cfg.read_text().replace('DEFAULT_WORKLOAD = "mixed"', 'DEFAULT_WORKLOAD = "spawn-burst"')
    )
    _git("commit", "-qam", "another default workload", cwd=d)
    other = _git("rev-parse", "HEAD", cwd=d)
    _git("checkout", "-q", "HEAD~1", cwd=d)
    return d, other


def test_each_side_runs_its_own_commit(clone):
    d, other = clone
    same = compare("HEAD", 2, 2, 5, here=d)
    changed = compare(other, 1, 2, 5, here=d)
    for doc, runs in ((same, 2), (changed, 1)):
        assert [r["symmetry"] for r in doc["rows"]] == [True, False]
        for r in doc["rows"]:
            assert len(r["here"]["cpu_s_all"]) == len(r["rev"]["cpu_s_all"]) == runs
            # The ratio is of the figures printed beside it: CPU time per state.
            assert r["ratio"] == round(r["here"]["us_per_state"] / r["rev"]["us_per_state"], 4)
    assert all(r["same_states"] for r in same["rows"])
    # The other commit explores another workload: its run is its own code's.
    assert not any(r["same_states"] for r in changed["rows"])
    line = describe(changed, "here")[0]
    assert "CPU time per state (the models differ)" in line
    # The temporary worktrees are gone.
    assert _git("worktree", "list", cwd=d).count("\n") == 0


def test_unknown_rev_and_no_checkout(clone, tmp_path):
    d, _ = clone
    with pytest.raises(AgainstError, match="is not a commit"):
        compare("no-such-rev", 1, 1, 2, here=d)
    with pytest.raises(AgainstError, match="not in a git checkout"):
        compare("HEAD", 1, 1, 2, here=tmp_path)


def test_cli_bad_rev_is_one_line_exit_2_and_writes_nothing(clone, monkeypatch, capsys):
    d, _ = clone
    monkeypatch.chdir(d)
    assert main(["bench", "--against", "no-such-rev", "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: --against: 'no-such-rev' is not a commit of {d}"]
    assert not (d / "r").exists()


def test_cli_writes_the_comparison(clone, monkeypatch, capsys):
    d, _ = clone
    monkeypatch.chdir(d)
    argv = ["bench", "--against", "HEAD", "--runs", "1", "--cores", "1", "--depth", "3"]
    assert main([*argv, "--out", "r"]) == 0
    doc = json.loads((d / "r" / "bench-against.json").read_text())
    assert doc["rev"] == "HEAD" and len(doc["rows"]) == 2
    assert capsys.readouterr().out.count("here / there") == 2


def test_a_commit_whose_run_fails_is_one_error_and_leaves_no_worktree(clone):
    d, _ = clone
    _git("rm", "-q", "--cached", "model/factory.py", cwd=d)
    tree = _git("write-tree", cwd=d)
    _git("reset", "-q", cwd=d)
    broken = _git("commit-tree", tree, "-p", "HEAD", "-m", "no factory", cwd=d)
    with pytest.raises(
        AgainstError, match=f"the run at {broken} imported model.factory from outside"
    ):
        compare(broken, 1, 1, 2, here=d)
    assert _git("worktree", "list", cwd=d).count("\n") == 0
    assert _git("status", "--porcelain", "--untracked-files=no", cwd=d) == ""
