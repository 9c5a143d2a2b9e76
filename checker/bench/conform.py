"""`python -m checker.conformbench`: how long `conform` takes on real runs.

Each run of a program is a new execution of the Go runtime, and the cost of
checking one depends on how many threads were in flux between two events:
one run says little. So this runs every program of the corpus
(tests/conform, or --programs) `--runs` times at each GOMAXPROCS of
`--procs`, checks each recorded execution in a fresh process (`conform
--trace`, killed after `--timeout` seconds), and prints, per program and
GOMAXPROCS, the verdicts and the distribution of the check's wall time
(median, maximum, every run). An execution that does not conform or does
not finish keeps its trace under `--out`/conform-failures. The whole table
goes to `--out`/conform-bench.json. Benchmarks are not tests: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from checker.bench.corpus import CORPUS, GODEBUG
from checker.golang.conform import trace_program
from checker.golang.gotool import GoToolError, find_toolchain
from checker.results import write_json
from checker.verdict import Verdict

PROGRAMS = (
    "spawn",
    "pingpong",
    "mutex",
    "gosched",
    "cpubound",
    "syscalls",
    "blocking",
    "retake",
    "workerpool",
    "lockthread",
    "timers",
    "alloc",
    "bigwrite",
)


def check_once(trace: Path, timeout: float) -> dict:
    """`conform --trace` in a fresh process: verdict, events, wall time."""
    start = time.monotonic()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "checker", "conform", "--trace", str(trace), "--json"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"verdict": Verdict.TIMEOUT, "wall_s": round(time.monotonic() - start, 2)}
    wall = time.monotonic() - start
    try:
        doc = json.loads(out.stdout)
    except json.JSONDecodeError:
        return {"verdict": f"exit {out.returncode}", "wall_s": round(wall, 2)}
    return {
        "verdict": doc["verdict"],
        "events": doc["checked_events"],
        "wall_s": round(wall, 2),
        "check_s": doc["elapsed_s"],
        "peak_closure": doc["search"]["peak_closure"],
        "failure_line": (doc.get("failure") or {}).get("line"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.conformbench", description=__doc__)
    ap.add_argument("--runs", type=int, default=3, help="executions per program and GOMAXPROCS")
    ap.add_argument("--procs", default="1,2,3,4", help="GOMAXPROCS values (1,2,3,4)")
    ap.add_argument("--programs", default=",".join(PROGRAMS), help="corpus programs")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per check (300)")
    ap.add_argument("--out", default="reports", help="where results go (reports)")
    args = ap.parse_args(argv)
    try:
        procs = [int(p) for p in args.procs.split(",") if p.strip()]
    except ValueError:
        print(f"error: --procs wants numbers, e.g. 1,2,3,4 (got {args.procs!r})", file=sys.stderr)
        return 2
    if args.runs < 1 or not procs or not all(1 <= p <= 8 for p in procs):
        print("error: --runs must be at least 1 and --procs between 1 and 8", file=sys.stderr)
        return 2
    programs = [p.strip() for p in args.programs.split(",") if p.strip()]
    missing = [p for p in programs if not (CORPUS / f"{p}.go").is_file()]
    if missing:
        print(f"error: no such corpus program: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        tc = find_toolchain()
    except GoToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    work = out / "conform-bench"
    rows = []
    for name in programs:
        for p in procs:
            runs = []
            for i in range(args.runs):
                dest = work / f"{name}-p{p}-{i}"
                program = CORPUS / f"{name}.go"
                godebug = GODEBUG.get(name, "")
                trace_program(
                    program, gomaxprocs=p, godebug=godebug, timeout=120, out_dir=dest, tc=tc
                )
                saved = dest / f"conform-{name}-p{p}.parsed.txt"
                run = check_once(saved, args.timeout)
                run["trace"] = str(saved)
                if run["verdict"] not in (Verdict.CONFORMS, Verdict.PARTIAL):
                    kept = out / "conform-failures" / f"{name}-p{p}-{int(time.time())}-{i}"
                    kept.mkdir(parents=True, exist_ok=True)
                    (kept / saved.name).write_bytes(saved.read_bytes())
                    run["kept"] = str(kept)
                runs.append(run)
            walls = [r["wall_s"] for r in runs]
            verdicts = [r["verdict"] for r in runs]
            row = {
                "program": f"{name}.go",
                "gomaxprocs": p,
                "verdicts": verdicts,
                "wall_s_median": round(statistics.median(walls), 2),
                "wall_s_max": max(walls),
                "runs": runs,
            }
            rows.append(row)
            events = [r.get("events", 0) for r in runs]
            print(
                f"{name}.go GOMAXPROCS={p}: {', '.join(verdicts)}; events {min(events):,}-"
                f"{max(events):,}; check {row['wall_s_median']:.1f} s median, "
                f"{row['wall_s_max']:.1f} s max (all: {', '.join(f'{w:.1f}' for w in walls)})",
                flush=True,
            )
    doc = {"go_version": tc.version, "runs_each": args.runs, "rows": rows}
    path = out / "conform-bench.json"
    write_json(path, doc)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
