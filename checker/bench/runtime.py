"""`python -m checker.bench.runtime`: the reference runtime, measured.

Prints the medians of several runs of:
  - replay: steps/s of a replay of a 5,000-step recording (the driver hands
    each step to its thread, waits, projects the runtime and compares);
  - free run: scheduler operations (steps) per second of `pingpong-hog` at
    --cores 2 on real threads, with recording off and on;
  - stress: the wall time of the stress run (runtime/stress.py: 2,053
    goroutines on 4 Ps and up to 8 Ms).
and writes them to reports/runtime-bench.json with the commit and the
machine. Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from checker.bench.search import provenance
from checker.replay.record import check, record, recording_document
from checker.replay.replay import replay
from checker.results import write_json
from model.config import Config
from model.factory import build_model
from runtime.factory import build_runtime
from runtime.stress import stress, stress_count

FREE_CFG = Config(cores=2, workload="pingpong-hog")


def bench_replay(runs: int) -> dict:
    rt = build_runtime(FREE_CFG, seed=1)
    rec = record(rt, steps=5000)
    model = build_model(FREE_CFG, symmetry=False)
    divergence, violation = check(model, rec)
    doc = recording_document(
        model, rec, seed=1, divergence=divergence, violation=violation, error=None
    )
    rates = []
    for _ in range(runs):
        res = replay(doc)
        assert res.divergence is None, res.divergence.lines()
        rates.append(res.steps / res.elapsed)
    return {"steps": len(rec.steps), "steps_per_s": _med(rates), "all": _r(rates)}


def bench_free(runs: int, seconds: float, recording: bool) -> dict:
    rates = []
    for i in range(runs):
        rt = build_runtime(FREE_CFG, seed=i + 1)
        if recording:
            rec = record(rt, seconds=seconds)
            run = rec.run
        else:
            run = rt.run_free(seconds=seconds)
        assert run is not None and run.stopped == "seconds", run
        rates.append(run.steps / run.elapsed)
    return {"seconds": seconds, "steps_per_s": _med(rates), "all": _r(rates)}


def bench_stress(runs: int) -> dict:
    walls = []
    for i in range(runs):
        t = time.perf_counter()
        res = stress(seed=i + 1)
        walls.append(time.perf_counter() - t)
        assert res.ok, res.problems
    return {"goroutines": stress_count(40, 50, 6), "wall_s": _med(walls), "all": _r(walls)}


def _med(xs: list[float]) -> float:
    return round(statistics.median(xs), 2)


def _r(xs: list[float]) -> list[float]:
    return [round(x, 2) for x in xs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m checker.bench.runtime", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--runs", type=int, default=5, help="runs per figure; medians are printed (5)")
    ap.add_argument("--seconds", type=float, default=2.0, help="length of a free run (2)")
    ap.add_argument("--out", default="reports")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.seconds <= 0:
        print("error: --runs must be at least 1 and --seconds positive", file=sys.stderr)
        return 2
    rows = {}
    rows["replay"] = r = bench_replay(args.runs)
    print(
        f"replay       {r['steps_per_s']:,.0f} steps/s (median of {args.runs} replays of a "
        f"{r['steps']:,}-step recording: {r['all']})",
        flush=True,
    )
    for recording in (False, True):
        key = "free_recording" if recording else "free"
        rows[key] = r = bench_free(args.runs, args.seconds, recording)
        print(
            f"free run     {r['steps_per_s']:,.0f} scheduler steps/s, pingpong-hog --cores 2, "
            f"recording {'on ' if recording else 'off'} (median of {args.runs} runs of "
            f"{args.seconds:g} s: {r['all']})",
            flush=True,
        )
    if rows["free_recording"]["steps_per_s"]:
        ratio = rows["free"]["steps_per_s"] / rows["free_recording"]["steps_per_s"]
        print(f"             recording costs {ratio:.2f}x")
    rows["stress"] = r = bench_stress(args.runs)
    print(
        f"stress       {r['wall_s']:.2f} s wall for {r['goroutines']:,} goroutines on 4 Ps and "
        f"up to 8 Ms (median of {args.runs}: {r['all']})",
        flush=True,
    )
    doc = {
        **provenance(),
        "runtime": rows,
    }
    path = Path(args.out) / "runtime-bench.json"
    write_json(path, doc)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
