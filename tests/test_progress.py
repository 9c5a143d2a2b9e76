"""Progress lines: every long phase shows one on a terminal's stderr, none
when stderr is a pipe or with --quiet; the estimate before a --depth 0 run."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys

from conftest import ROOT, run_cli

from checker.engine.estimate import estimate, warning


def run_on_terminal(*args: str, timeout: float = 300) -> tuple[int, str, str]:
    """`python -m checker ARGS` with stderr on a pseudo-terminal: (exit code,
    stdout, what the terminal showed, escape sequences and all)."""
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="160", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise TimeoutError(args)
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    out = proc.stdout.read().decode()
    proc.wait(timeout=30)
    return proc.returncode, out, seen.decode(errors="replace")


def test_check_shows_each_phase_on_a_terminal_and_nothing_on_a_pipe(tmp_path):
    args = ("--cores", "4", "--depth", "12", "--out", str(tmp_path))
    code, out, term = run_on_terminal(*args)
    assert code == 0, out
    for phase in ("safety search", "liveness search"):
        assert phase in term, term[-2000:]
    assert re.search(r"[\d,]+ states/s", term)
    assert "\x1b[" in term  # drawn by rich, in place
    code, out, err = run_cli(*args)  # stderr a pipe: no progress
    assert code == 0 and err == ""
    code, out, term = run_on_terminal(*args, "--quiet")
    assert code == 0 and term.strip() == ""


def test_the_gate_and_bmc_show_progress_on_a_terminal(tmp_path):
    code, _, term = run_on_terminal(
        "gate", "--cell", "safety/mixed/c4", "--workers", "1", "--out", str(tmp_path)
    )
    assert "gate cells" in term and "safety/mixed/c4/d12: ok" in term, term[-2000:]
    code, _, term = run_on_terminal(
        "--engine", "smt", "--cores", "2", "--depth", "8", "--out", str(tmp_path)
    )
    assert code == 0 and "bmc" in term and "depth 7" in term, term[-2000:]


def test_the_summary_time_covers_every_phase(tmp_path):
    code, out, _ = run_cli("--cores", "3", "--depth", "10", "--quiet", "--out", str(tmp_path))
    m = re.search(
        r"time +([\d.]+) s in all: safety search ([\d.]+) s .*liveness search ([\d.]+) s; "
        r"liveness analysis ([\d.]+) s",
        out,
    )
    assert m, out
    total, *phases = (float(x) for x in m.groups())
    assert total >= sum(phases) - 0.15  # each figure is rounded to 0.1 s


def test_the_estimate_warns_of_a_run_that_grows_for_hours():
    # The level sizes of `--cores 4 --depth 0` (mixed), at 20,000 states/s.
    levels = [1, 5, 19, 62, 177, 448, 1019, 2129, 4206, 8052, 15092, 27687, 49585]
    e = estimate(levels, sum(levels), sum(levels) / 20_000, 350)
    assert e is not None and e.seconds > 3600 and e.bytes > 10e9
    line = warning(e, 24 * 2**30)
    assert line and "--depth D" in line and "--max-states" in line
    # A search past its peak, or a small one, gets no warning.
    assert estimate([1, 5, 19, 40, 30, 12, 4, 1], 112, 5.0, 300) is None
    small = estimate([1, 3, 9, 20, 35, 50, 60], 178, 5.0, 300)
    assert small is None or warning(small, 24 * 2**30) is None
    # Nor does a search in its first seconds, however fast its levels grow.
    assert estimate(levels, sum(levels), 1.0, 350) is None


def test_an_unbounded_run_that_will_not_finish_says_so_up_front(tmp_path):
    code, out, err = run_cli(
        "--cores", "4", "--depth", "0", "--max-states", "150000", "--property", "no-lost-g",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 4, out + err
    assert err.startswith("estimate  at this rate this search needs ~"), err
    assert len(err.splitlines()) == 1
