"""`python -m checker.bench.hostile`: bad inputs and injected faults, counted.

    python -m checker.bench.hostile [--seed S] [--quick] [--json] [--work DIR]

probes the checker as the maintainers of a trusted checker would. Every
case is a `python -m checker ...` process in its own session under a memory
(RLIMIT_AS) and CPU-time limit, with a wall-clock limit.

Bad inputs (checker/bench/hostile_inputs.py, the list fixed by --seed):
a case is handled cleanly when the exit code is one the command documents,
there is no traceback, an exit 2 says why in at most two lines of stderr,
no raw control character reaches stdout or stderr, no temporary file is
left where it writes, no process outlives it, and it ends in time within
its memory limit. Anything else (exit 70, a traceback, a hang, killed by a
limit) is a failure, and is listed.

Injected faults (checker/bench/hostile_faults.py): a fault is survived when
the run ends with the documented exit code within the stop time (2 s after
the signal, more on a loaded machine; a run writing a checkpoint may take
longer, and the times are reported), prints its summary, without a
traceback, with no process left in its process group and no partial file.
Data is lost when a verdict a finished phase had established is missing
after the stop, or a checkpoint does not resume to the uninterrupted run's
exit code and counts.

Prints a table per category and the totals; --json prints them as JSON.
--quick runs a small subset (under a minute). Exit 1 when anything failed
or lost data, else 0.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from checker.bench.hostile_faults import (
    BUG,
    FaultResult,
    baselines,
    fault_cases,
    run_fault,
    stop_times,
)
from checker.bench.hostile_inputs import InputCase, input_cases
from checker.bench.processes import CONTROL, Child, Outcome, temporaries
from checker.results import print_json

INPUT_LIMIT_MB = 2048
INPUT_TIMEOUT_S = 180
QUICK_INPUTS = 30


@dataclass
class InputResult:
    case: InputCase
    code: int
    seconds: float
    maxrss_mb: float
    problems: list[str] = field(default_factory=list)


def judge_input(case: InputCase, o: Outcome, work: Path) -> list[str]:
    """What is wrong with how a command took a bad input (nothing: clean)."""
    bad = []
    if o.timed_out:
        bad.append(f"did not end within {INPUT_TIMEOUT_S} s")
    elif o.code < 0:
        bad.append(f"killed by signal {-o.code}")
    elif o.code not in case.allowed:
        bad.append(f"exit {o.code}")
    if "Traceback" in o.out + o.err:
        bad.append("traceback on " + ("stderr" if "Traceback" in o.err else "stdout"))
    lines = o.err.strip().splitlines()
    if o.code == 2 and len(lines) > 2:
        bad.append(f"exit 2 with {len(lines)} lines on stderr")
    if o.code == 2 and not lines:
        bad.append("exit 2 with nothing on stderr")
    for name, text in (("stdout", o.out), ("stderr", o.err)):
        m = CONTROL.search(text)
        if m:
            bad.append(f"raw control character {m.group()!r} on {name}")
    if o.maxrss_mb >= INPUT_LIMIT_MB * 0.95:
        bad.append(f"peak memory {o.maxrss_mb:.0f} MB at the {INPUT_LIMIT_MB} MB limit")
    if o.left:
        bad.append(f"processes left behind: {o.left}")
    if case.out_dir:
        tmp = temporaries(work / case.out_dir)
        if tmp:
            bad.append(f"temporary files left: {[t.name for t in tmp]}")
    return bad


def _run_input(case: InputCase, work: Path) -> InputResult:
    o = Child(case.args, cwd=work, limit_mb=INPUT_LIMIT_MB).finish(INPUT_TIMEOUT_S)
    return InputResult(case, o.code, o.elapsed_s, o.maxrss_mb, judge_input(case, o, work))


def base_trace(work: Path) -> Path:
    """A real counterexample, the trace every bad trace is made from."""
    d = work / "base"
    d.mkdir(parents=True)
    o = Child([*BUG, "--out", str(d / "out")], cwd=d, limit_mb=INPUT_LIMIT_MB).finish(300)
    found = sorted((d / "out").glob("*.itf.json"))
    if o.code != 1 or not found:
        raise SystemExit(f"error: the base trace was not made (exit {o.code}): {o.err[-500:]}")
    return found[0]


def quick_inputs(cases: list[InputCase], seed: int) -> list[InputCase]:
    """A few cases of each kind, drawn with the seed, and the control
    sequences in a trace's labels for the terminal view."""
    rng = random.Random(seed)
    kinds: dict[str, list[InputCase]] = defaultdict(list)
    for c in cases:
        kinds[c.kind].append(c)
    per_kind = max(1, QUICK_INPUTS // len(kinds))
    picked = [c for k in kinds.values() for c in rng.sample(k, min(per_kind, len(k)))]
    must = [c for c in cases if c.kind == "view" and c.name == "ESC sequences in labels"]
    return picked + [c for c in must if c not in picked]


def run_inputs(work: Path, seed: int, quick: bool, jobs: int) -> list[InputResult]:
    cases = input_cases(work, base_trace(work), seed)
    if quick:
        cases = quick_inputs(cases, seed)
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda c: _run_input(c, work), cases))


def run_faults(work: Path, quick: bool, match: str = "") -> list[FaultResult]:
    cases = [c for c in fault_cases(quick) if match in f"{c.kind}: {c.name}"]
    base = baselines(cases, work / "baselines")
    return [run_fault(c, work / "faults" / f"{i:03d}", base) for i, c in enumerate(cases)]


def report(inputs: list[InputResult], faults: list[FaultResult], seconds: float) -> dict:
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in inputs:
        by_kind[r.case.kind][0] += 1
        by_kind[r.case.kind][1] += not r.problems
    f_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for f in faults:
        row = f_kind[f.case.kind]
        row[0] += 1
        row[1] += not f.problems
        row[2] += bool(f.lost)
        row[3] += not f.hit
    return {
        "schema": "gmpcheck.hostile/1",
        "seconds": round(seconds, 1),
        "inputs": {
            "tried": len(inputs),
            "clean": sum(not r.problems for r in inputs),
            "failures": [
                {
                    "kind": r.case.kind,
                    "case": r.case.name,
                    "args": r.case.args[:8],
                    "exit": r.code,
                    "problems": r.problems,
                }
                for r in inputs
                if r.problems
            ],
            "by_kind": {k: {"tried": v[0], "clean": v[1]} for k, v in by_kind.items()},
            "median_s": round(statistics.median([r.seconds for r in inputs] or [0]), 2),
            "max_rss_mb": round(max([r.maxrss_mb for r in inputs] or [0]), 1),
        },
        "faults": {
            "injected": len(faults),
            "survived": sum(not f.problems for f in faults),
            "data_lost": sum(bool(f.lost) for f in faults),
            "ended_before_the_fault": sum(not f.hit for f in faults),
            "failures": [
                {
                    "kind": f.case.kind,
                    "case": f.case.name,
                    "problems": f.problems,
                    "lost": f.lost,
                    "output": f.output,
                }
                for f in faults
                if f.problems or f.lost
            ],
            "by_kind": {
                k: {"injected": v[0], "survived": v[1], "data_lost": v[2], "not_hit": v[3]}
                for k, v in f_kind.items()
            },
            "stop_times": stop_times(faults),
            "resume_s_max": max([f.resume_s for f in faults if f.resume_s] or [0]),
        },
    }


def print_report(doc: dict) -> None:
    i, f = doc["inputs"], doc["faults"]
    print(f"{'bad inputs':<28} {'tried':>6} {'clean':>6}")
    for kind, v in i["by_kind"].items():
        print(f"  {kind:<26} {v['tried']:>6} {v['clean']:>6}")
    print(f"\n{'faults':<28} {'injected':>8} {'survived':>8} {'lost':>5} {'not hit':>8}")
    for kind, v in f["by_kind"].items():
        print(
            f"  {kind:<26} {v['injected']:>8} {v['survived']:>8} {v['data_lost']:>5} "
            f"{v['not_hit']:>8}"
        )
    for name, s in f["stop_times"].items():
        if s["n"]:
            print(
                f"stop time {name}: median {s['median_s']:.2f} s, max {s['max_s']:.2f} s "
                f"({s['n']} runs)"
            )
    print()
    n_fail = len(i["failures"])
    print(f"bad inputs tried {i['tried']}, handled cleanly {i['clean']}, failures {n_fail}")
    for x in i["failures"]:
        print(f"  FAILURE {x['kind']}: {x['case']}: {'; '.join(x['problems'])}")
    print(f"faults injected {f['injected']}, survived {f['survived']}, data lost {f['data_lost']}")
    for x in f["failures"]:
        print(f"  FAULT {x['kind']}: {x['case']}: {'; '.join(x['problems'] + x['lost'])}")
    print(f"time      {doc['seconds']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.bench.hostile", description=__doc__)
    ap.add_argument("--seed", type=int, default=1, help="the bad inputs' seed (1)")
    ap.add_argument("--quick", action="store_true", help="a small subset, under a minute")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--jobs", type=int, default=2, help="bad-input cases run at once (2)")
    ap.add_argument("--work", default=None, help="keep the cases' files here (a new directory)")
    ap.add_argument("--match", default="", help="only the faults whose 'kind: name' has this")
    ap.add_argument("--only", choices=["inputs", "faults"], default=None)
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="gmpcheck-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        inputs = [] if args.only == "faults" else run_inputs(work, args.seed, args.quick, args.jobs)
        faults = [] if args.only == "inputs" else run_faults(work, args.quick, args.match)
    finally:
        Child.kill_all()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    doc = report(inputs, faults, time.monotonic() - t)
    if args.json:
        print_json(doc, indent=1)
    else:
        print_report(doc)
    return 1 if doc["inputs"]["failures"] or doc["faults"]["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
