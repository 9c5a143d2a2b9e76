"""`python -m checker.predictions [--runs N]`: the model's starvation findings
tried on the real Go runtime (checker/golang/predictions.py); the table is
written under --out."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from checker.files import write_atomically
from checker.golang import predictions
from checker.golang.gotool import GoToolError, build, find_toolchain
from checker.golang.predictions import EXPERIMENTS, PROGRAMS, run_experiment, table
from checker.results import write_json

PROGRAM_DOC = predictions.__doc__  # the help's description: what the program does


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.predictions", description=PROGRAM_DOC)
    ap.add_argument("--runs", type=int, default=3, help="runs per experiment (3)")
    ap.add_argument("--out", default="reports", help="where the table goes (reports)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        print("error: --runs must be at least 1", file=sys.stderr)
        return 2
    try:
        tc = find_toolchain()
        rows = []
        with tempfile.TemporaryDirectory(prefix="gmpcheck-predictions-") as tmp:
            binaries: dict[str, Path] = {}
            for ex in EXPERIMENTS:
                if ex.program not in binaries:
                    src = PROGRAMS / f"{ex.program}.go"
                    binaries[ex.program] = build(tc, src, Path(tmp) / ex.program, traced=False)
                t = time.monotonic()
                row = run_experiment(tc, binaries[ex.program], ex, args.runs)
                rows.append(row)
                print(
                    f"{ex.finding}, GOMAXPROCS={ex.gomaxprocs} GODEBUG={ex.godebug or '-'}: "
                    f"starved in {row['starved_runs']} of {args.runs} runs "
                    f"[{time.monotonic() - t:.1f}s]",
                    flush=True,
                )
    except GoToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    doc = {"schema": "gmpcheck.predictions/1", "go_version": tc.version, "experiments": rows}
    write_json(out / "predictions.json", doc)
    write_atomically(out / "predictions.md", table(tc.version, rows))
    print(f"written to {out / 'predictions.md'}")
    return 0
