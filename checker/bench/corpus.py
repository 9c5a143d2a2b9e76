"""The conformance benchmark's corpus: programs of tests/conform/ (the
repository's, not the installed package's: the benchmarks run from a
checkout), traced once each and checked `runs` times."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from checker.golang.conform import check_events, trace_program
from checker.golang.gotool import find_toolchain
from checker.verdict import Verdict

# The benchmark's runs: corpus programs at the GOMAXPROCS values the search
# explains in about a second (docs/conformance.md, Performance).
BENCH_RUNS = (
    ("spawn", 1),
    ("spawn", 2),
    ("pingpong", 2),
    ("gosched", 2),
    ("mutex", 1),
    ("cpubound", 2),
    ("syscalls", 1),
    ("pingponglong", 1),
    ("pingponglong", 2),
)
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "conform"
# GODEBUG for the corpus programs that need one: bigwrite.go with a trace
# generation every 2 ms, so that the tracer's status events (GoStatus,
# ProcStatus) come in the middle of its writes, not only at its start.
GODEBUG = {"bigwrite": "traceadvanceperiod=2000000"}


def bench_corpus(runs: int, evidence_dir: Path | None = None) -> tuple[str, list[dict]]:
    """Trace each BENCH_RUNS program once, then check its trace `runs` times:
    the Go version and, per program, events, verdict and the median events/s.
    A run that does not conform keeps its trace (binary and dump) in
    `evidence_dir`, named in its row. GoToolError when there is no toolchain."""
    import shutil

    tc = find_toolchain()
    rows = []
    for name, procs in BENCH_RUNS:
        with tempfile.TemporaryDirectory(prefix="gmpcheck-bench-") as tmp:
            events, _, saved, _ = trace_program(
                CORPUS / f"{name}.go", gomaxprocs=procs, godebug="", timeout=60,
                out_dir=Path(tmp), tc=tc,
            )  # fmt: skip
            first, _search = check_events(events, name, 200_000)
            evidence = None
            if first.verdict != Verdict.CONFORMS and evidence_dir is not None and saved is not None:
                evidence_dir.mkdir(parents=True, exist_ok=True)
                for f in sorted(Path(tmp).iterdir()):
                    shutil.copyfile(f, evidence_dir / f.name)
                evidence = str(evidence_dir / saved.name)
        walls, verdict, checked = [], "", 0
        for _ in range(runs):
            res, _search = check_events(events, name, 200_000)
            walls.append(res.elapsed)
            verdict, checked = res.verdict, res.checked
        wall = statistics.median(walls)
        rows.append(
            {
                "program": f"{name}.go",
                "gomaxprocs": procs,
                "events": checked,
                "verdict": verdict,
                "first_verdict": first.verdict,
                "evidence": evidence,
                "wall_s_median": round(wall, 4),
                "wall_s_all": [round(w, 4) for w in walls],
                "events_per_s": round(checked / wall) if wall > 0 else 0,
            }
        )
    return tc.version, rows
