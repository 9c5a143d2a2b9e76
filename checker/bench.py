"""`python -m checker bench`: the canonical run, measured.

For each worker count, runs `--cores 4 --depth 12` several times (each in a
fresh process, so peak memory is the run's own) and prints the medians:
distinct states, transitions, states/s (and per worker), peak memory, bytes
per state, wall time. Writes them to reports/bench.json with the commit and
the machine. Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from checker.itf import write_atomically

_CHILD = r"""
import json, resource, sys, time
from model.config import Config
from model.factory import build_model
from checker.explore import explore
cores, depth, workers, symmetry = (int(x) for x in sys.argv[1:5])
model = build_model(Config(cores=cores), symmetry=bool(symmetry))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
ex = explore(model, [p for p in model.properties() if p.default], depth=depth, workers=workers)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"states": len(ex.states), "transitions": ex.transitions, "wall_s": wall,
                  "peak_rss_kib": peak, "base_rss_kib": base, "worker_peak_rss_kib": kids}))
"""


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def measure(cores: int, depth: int, workers: int, symmetry: bool, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(cores),
                str(depth),
                str(workers),
                str(int(symmetry)),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(json.loads(out.stdout))
    wall = statistics.median(s["wall_s"] for s in samples)
    states = samples[0]["states"]
    peak = statistics.median(s["peak_rss_kib"] for s in samples) * 1024
    base = statistics.median(s["base_rss_kib"] for s in samples) * 1024
    return {
        "cores": cores,
        "depth": depth,
        "workers": workers,
        "symmetry": symmetry,
        "runs": runs,
        "states": states,
        "transitions": samples[0]["transitions"],
        "wall_s_median": round(wall, 3),
        "wall_s_all": [round(s["wall_s"], 3) for s in samples],
        "states_per_s": round(states / wall),
        "states_per_s_per_worker": round(states / wall / workers),
        "peak_rss_mib": round(peak / 2**20, 1),
        "bytes_per_state": round((peak - base) / max(states, 1)),
    }


def cmd_bench(args) -> int:
    workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    rows = []
    for symmetry in (True, False):
        for w in workers:
            t = time.perf_counter()
            row = measure(args.cores, args.depth, w, symmetry, args.runs)
            rows.append(row)
            print(
                f"cores {row['cores']} depth {row['depth']} symmetry "
                f"{'on ' if symmetry else 'off'} workers {w}: {row['states']:,} states, "
                f"{row['transitions']:,} transitions, wall {row['wall_s_median']:.2f}s "
                f"(median of {row['runs']}: {row['wall_s_all']}), "
                f"{row['states_per_s']:,} states/s ({row['states_per_s_per_worker']:,} per "
                f"worker), peak {row['peak_rss_mib']} MiB, {row['bytes_per_state']} B/state  "
                f"[{time.perf_counter() - t:.0f}s]",
                flush=True,
            )
    by = {(r["symmetry"], r["workers"]): r for r in rows}
    if (True, 1) in by and (True, 2) in by:
        ratio = by[(True, 1)]["wall_s_median"] / by[(True, 2)]["wall_s_median"]
        print(f"speed-up with 2 workers (symmetry on): {ratio:.2f}x")
    doc = {
        "commit": _git_commit(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "canonical_run": rows,
    }
    if args.smt:
        from checker.smt.bench import bench_smt

        cores = [int(c) for c in args.smt.split(",") if c.strip()]
        doc["smt"] = bench_smt(cores, args.smt_depth, args.smt_budget)
        from checker.smt.bench import bench_wait

        doc["smt_global_queue_wait"] = bench_wait([12, 18, 24])
    path = Path(args.out) / "bench.json"
    write_atomically(path, json.dumps(doc, indent=2) + "\n")
    print(f"written to {path}")
    return 0
