"""The stress run: thousands of goroutines across 4 Ps and up to 8 Ms on
real threads, with system calls (blocking ones too), blocking pairs and
Gosched: every goroutine runs to completion exactly once, nothing is lost,
nothing deadlocks (runtime/stress.py; the time it takes is a benchmark)."""

from __future__ import annotations

from runtime.stress import stress, stress_count


def test_thousands_of_goroutines_all_complete():
    res = stress(cores=4, max_ms=8, seed=1, seconds=120, hang_after=15)
    assert res.expected == stress_count(40, 50, 6) > 2000
    assert res.ok, "\n".join(res.problems + (res.run.dump or []))
    assert 4 < res.threads - 1 <= 8  # blocking syscalls needed more Ms than Ps, within the bound
    assert res.run.steps > 10 * res.expected


def test_the_stress_checks_catch_a_lost_goroutine():
    """With exitsyscall0 dropping its G when no P is idle, goroutines go
    missing, and the run says so instead of passing or hanging."""
    res = stress(mutation="exitsyscall-drops-g", seed=2, seconds=60, hang_after=15)
    assert not res.ok
    assert any("never exited (lost)" in p for p in res.problems), res.problems
