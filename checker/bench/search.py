"""`python -m checker bench`: the canonical run, measured.

For each kernel (compiled, python) and worker count, runs `--cores 4
--depth 12` several times (each in a fresh process, so peak memory is the
run's own; the compiled kernel is built, or taken from the cache, before
the clock starts) and prints the medians: distinct states, transitions,
states/s (per worker and per CPU-second), peak memory, the visited set's
bytes per state, wall time. Then what the liveness pass adds (its graph search
without symmetry and the fair-cycle analysis), in time and peak memory, to
the canonical run and to the largest exhaustive liveness configuration the
gate ships (`--liveness-config`). Writes everything to reports/bench.json
with the commit and the machine. Benchmarks are not tests: nothing here
asserts a time.
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

from checker.results import write_json
from checker.verdict import Verdict
from checker.views.report import EXIT_SAFETY

_CHILD = r"""
import json, resource, sys, time
from model.config import Config
from model.factory import build_model
from checker.engine.explore import explore
from specs import properties_of
cores, depth, workers, symmetry = (int(x) for x in sys.argv[1:5])
kernel = sys.argv[5]
model = build_model(Config(cores=cores), symmetry=bool(symmetry))
props = [p for p in properties_of(model) if p.default]
k = None
if kernel == "compiled":
    from checker.kernel import kernel_properties
    from checker.kernel.build import build_kernel
    from checker.kernel.search import explore_compiled
    k = build_kernel(model, kernel_properties(model, props), level="fast")  # cached: not timed
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, cpu = time.perf_counter(), time.process_time()
if k is None:
    ex = explore(model, props, depth=depth, workers=workers)
else:
    ex = explore_compiled(k, model, props, depth=depth, workers=workers)
wall, cpu = time.perf_counter() - t, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
visited = ex.search.memory()[0] if ex.search is not None else None
print(json.dumps({"states": len(ex.states), "transitions": ex.transitions, "wall_s": wall,
                  "cpu_s": cpu, "peak_rss_kib": peak, "base_rss_kib": base,
                  "worker_peak_rss_kib": kids, "visited_bytes": visited}))
"""

# One whole check run, as `python -m checker` does it: safety only, or with
# the liveness properties (their graph search and analysis) too.
_LIVENESS_CHILD = r"""
import json, resource, sys, time
from model.config import Config
from model.factory import build_model
from checker.run import run_check
from specs import properties_of
spec = json.loads(sys.argv[1])
depth, live, kernel = spec.pop("depth"), spec.pop("liveness"), spec.pop("kernel")
model = build_model(Config(**spec))
props = [p for p in properties_of(model) if p.default and (live or p.kind != "liveness")]
run_check(model, props, depth=min(depth, 1) or 1, workers=1, kernel=kernel)  # the kernel, cached
t = time.perf_counter()
run = run_check(model, props, depth=depth, workers=1, kernel=kernel)
wall = time.perf_counter() - t
lx = run.live_ex
graph = None
if lx is not None and lx.search is not None:
    graph = sum(lx.search.memory()[:2])
print(json.dumps({"states": len(run.ex.states), "wall_s": wall,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "graph_states": len(lx.states) if lx else 0,
                  "graph_edges": len(lx.edge_src) if lx else 0,
                  "graph_bytes": graph, "kernel": run.kernel,
                  "analysis_s": run.analysis_s}))
"""


def provenance() -> dict:
    """What a benchmark's figures were measured on: the commit, the machine, the date."""
    return {
        "commit": _git_commit(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


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


def measure(cores: int, depth: int, workers: int, symmetry: bool, runs: int, kernel: str) -> dict:
    samples = []
    for _ in range(runs):
        argv = [str(cores), str(depth), str(workers), str(int(symmetry)), kernel]
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, check=True
        )
        samples.append(json.loads(out.stdout))
    med = statistics.median
    wall = med(s["wall_s"] for s in samples)
    cpu = med(s["cpu_s"] for s in samples)
    states = samples[0]["states"]
    peak = med(s["peak_rss_kib"] for s in samples) * 1024
    base = med(s["base_rss_kib"] for s in samples) * 1024
    visited = samples[0]["visited_bytes"]
    return {
        "kernel": kernel,
        "cores": cores,
        "depth": depth,
        "workers": workers,
        "symmetry": symmetry,
        "runs": runs,
        "states": states,
        "transitions": samples[0]["transitions"],
        "wall_s_median": round(wall, 3),
        "wall_s_all": [round(s["wall_s"], 3) for s in samples],
        "cpu_s_median": round(cpu, 3),
        "states_per_s": round(states / wall),
        "states_per_s_per_worker": round(states / wall / workers),
        "states_per_cpu_s": round(states / max(cpu, 1e-9)),
        "peak_rss_mib": round(peak / 2**20, 1),
        "bytes_per_state": round((peak - base) / max(states, 1)),
        "visited_bytes_per_state": round(visited / states, 1) if visited else None,
    }


def _child(code: str, *argv: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def measure_liveness(spec: dict, runs: int, kernel: str) -> dict:
    """Medians of whole check runs (one worker) without and with liveness."""
    med = statistics.median
    spec = {**spec, "kernel": kernel}
    base = [_child(_LIVENESS_CHILD, json.dumps({**spec, "liveness": False})) for _ in range(runs)]
    full = [_child(_LIVENESS_CHILD, json.dumps({**spec, "liveness": True})) for _ in range(runs)]
    safety_wall, wall = med(s["wall_s"] for s in base), med(s["wall_s"] for s in full)
    safety_peak = med(s["peak_rss_kib"] for s in base) / 1024
    peak = med(s["peak_rss_kib"] for s in full) / 1024
    graph_states = full[0]["graph_states"]
    graph_bytes = full[0]["graph_bytes"]
    return {
        "config": spec,
        "kernel": full[0]["kernel"],
        "runs": runs,
        "safety_wall_s": round(safety_wall, 3),
        "wall_s": round(wall, 3),
        "wall_s_all": [round(s["wall_s"], 3) for s in full],
        "liveness_adds_s": round(wall - safety_wall, 3),
        "analysis_s": round(med(s["analysis_s"] for s in full), 3),
        "graph_states": graph_states,
        "graph_edges": full[0]["graph_edges"],
        "safety_peak_rss_mib": round(safety_peak, 1),
        "peak_rss_mib": round(peak, 1),
        "liveness_adds_mib": round(peak - safety_peak, 1),
        "bytes_per_graph_state": round((peak - safety_peak) * 2**20 / max(graph_states, 1)),
        "stored_bytes_per_graph_state": (
            round(graph_bytes / max(graph_states, 1), 1) if graph_bytes else None
        ),
    }


# The exhaustive runs issue 13 asks for, as a user types them (--exhaustive).
EXHAUSTIVE = [
    ("mixed", 3),
    ("syscall-heavy", 3),
    ("tight-loop", 4),
    ("yield-pair", 4),
    ("spawn-burst", 4),
]


def measure_exhaustive(workload: str, cores: int) -> dict:
    """One exhaustive run of every default property (`--depth 0 --steps macro
    --period 2`), in a fresh process: its verdicts, counts, time and memory."""
    import resource

    cmd = [sys.executable, "-m", "checker", "--cores", str(cores), "--workload", workload]
    cmd += ["--depth", "0", "--steps", "macro", "--period", "2", "--workers", "1"]
    cmd += ["--json", "--quiet", "--out", str(Path("reports") / "exhaustive")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row = {
        "command": " ".join(["python", "-m", "checker", *cmd[3:-4]]),
        "exit_code": out.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "peak_rss_mib": round(after.ru_maxrss / 1024, 1),
    }
    try:
        d = json.loads(out.stdout)
    except ValueError:
        row["error"] = (out.stderr or out.stdout).strip().splitlines()[-1:]
        return row
    row["states"] = d["result"]["states"]
    row["graph_states"] = d["result"].get("liveness_graph", {}).get("states")
    row["graph_edges"] = d["result"].get("liveness_graph", {}).get("edges")
    row["verdicts"] = {p["id"]: p["verdict"] for p in d["properties"]}
    row["kernel"] = d["search"].get("kernel_note")
    return row


def liveness_config(text: str) -> dict | None:
    """`WORKLOAD,CORES` (argparse type): the exhaustive macro-step run to measure."""
    import argparse

    from model.workloads import WORKLOADS

    if not text:
        return None
    workload, _, cores = text.partition(",")
    if workload not in WORKLOADS or not cores.isdigit() or int(cores) < 1:
        raise argparse.ArgumentTypeError(
            f"expected WORKLOAD,CORES with a known workload, got {text!r}"
        )
    return {"workload": workload, "cores": int(cores), "depth": 0, "steps": "macro", "period": 2}


def _bench_against(args) -> int:
    from checker.bench.against import AgainstError, compare, describe
    from checker.errors import UsageError

    try:
        doc = {**provenance(), **compare(args.against, args.runs, args.cores, args.depth)}
    except AgainstError as e:
        raise UsageError(f"--against: {e}") from None
    for line in describe(doc, doc["commit"]):
        print(line, flush=True)
    path = Path(args.out) / "bench-against.json"
    write_json(path, doc)
    print(f"written to {path}")
    return 0


def _bench_conformance(runs: int, out: Path) -> dict:
    """Events/s of `conform` on the corpus (tests/conform), when Go is installed.
    Every corpus run must conform: one that does not is a wrong verdict, and
    its trace is kept under `out`/bench-conform-failures."""
    from checker.bench.corpus import bench_corpus
    from checker.golang.gotool import GoToolError

    try:
        version, rows = bench_corpus(runs, evidence_dir=out / "bench-conform-failures")
    except GoToolError as e:
        print(f"conformance: skipped ({e})")
        return {"skipped": str(e)}
    wrong = []
    for r in rows:
        print(
            f"conform {r['program']} GOMAXPROCS={r['gomaxprocs']}: {r['events']:,} events, "
            f"{r['verdict']}, {r['wall_s_median']:.3f}s (median of {len(r['wall_s_all'])}), "
            f"{r['events_per_s']:,} events/s  [{version}]",
            flush=True,
        )
        if r["verdict"] != Verdict.CONFORMS or r["first_verdict"] != Verdict.CONFORMS:
            wrong.append(r)
    for r in wrong:
        print(
            f"WRONG VERDICT: {r['program']} at GOMAXPROCS={r['gomaxprocs']} "
            f"{r['first_verdict']} (the corpus must conform); trace kept: {r['evidence']} "
            "(check it again with `conform --trace`)",
            file=sys.stderr,
            flush=True,
        )
    return {"go_version": version, "runs": rows, "wrong": len(wrong)}


def cmd_bench(args) -> int:
    if args.against:
        return _bench_against(args)
    kernels = [k for k in args.kernels.split(",") if k.strip()]
    rows = _bench_canonical(args, kernels)
    live_rows = _bench_liveness(args, kernels)
    doc = {
        **provenance(),
        "canonical_run": rows,
        "liveness": live_rows,
    }
    if args.exhaustive:
        doc["exhaustive"] = _bench_exhaustive()
    if args.smt:
        from checker.smt.bench import bench_smt

        smt_cores = [int(c) for c in args.smt.split(",") if c.strip()]
        doc["smt"] = bench_smt(smt_cores, args.smt_depth, args.smt_budget)
        from checker.smt.bench import bench_wait

        doc["smt_global_queue_wait"] = bench_wait([12, 18, 24])
    doc["conformance"] = _bench_conformance(args.runs, Path(args.out))
    path = Path(args.out) / "bench.json"
    write_json(path, doc)
    print(f"written to {path}")
    if doc["conformance"].get("wrong"):
        # A benchmark that met a wrong verdict is not a measurement to keep quiet about.
        print(
            f"bench: FAIL — {doc['conformance']['wrong']} conformance run(s) gave a wrong verdict",
            file=sys.stderr,
        )
        return EXIT_SAFETY
    return 0


def _bench_canonical(args, kernels: list[str]) -> list[dict]:
    """The canonical run on each kernel, symmetry on and off, at each worker
    count; then the speed-ups it shows."""
    workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    rows = []
    for kernel in kernels:
        for symmetry in (True, False):
            for w in workers:
                t = time.perf_counter()
                row = measure(args.cores, args.depth, w, symmetry, args.runs, kernel)
                rows.append(row)
                visited = row["visited_bytes_per_state"]
                print(
                    f"{kernel:<8} cores {row['cores']} depth {row['depth']} symmetry "
                    f"{'on ' if symmetry else 'off'} workers {w}: {row['states']:,} states, "
                    f"{row['transitions']:,} transitions, wall {row['wall_s_median']:.3f}s "
                    f"(median of {row['runs']}: {row['wall_s_all']}), "
                    f"{row['states_per_s']:,} states/s ({row['states_per_s_per_worker']:,} per "
                    f"worker; {row['states_per_cpu_s']:,} per CPU-second), "
                    f"peak {row['peak_rss_mib']} MiB"
                    + (f", visited set {visited} B/state" if visited else "")
                    + f"  [{time.perf_counter() - t:.0f}s]",
                    flush=True,
                )
    by = {(r["kernel"], r["symmetry"], r["workers"]): r for r in rows}
    for kernel in kernels:
        if (kernel, True, 1) in by and (kernel, True, 2) in by:
            one, two = by[(kernel, True, 1)], by[(kernel, True, 2)]
            ratio = one["wall_s_median"] / two["wall_s_median"]
            print(f"{kernel}: speed-up with 2 workers (symmetry on): {ratio:.2f}x")
    if ("python", True, 1) in by and ("compiled", True, 1) in by:
        ratio = by[("python", True, 1)]["cpu_s_median"] / by[("compiled", True, 1)]["cpu_s_median"]
        print(f"compiled against python, CPU time, symmetry on, 1 worker: {ratio:.1f}x less")
    return rows


def _bench_liveness(args, kernels: list[str]) -> list[dict]:
    """Liveness on each kernel, at the canonical run's configuration and at
    --liveness-config's."""
    live_rows = []
    specs = [{"cores": args.cores, "depth": args.depth}]
    if args.liveness_config:
        specs.append(args.liveness_config)
    for kernel in kernels:
        for spec in specs:
            t = time.perf_counter()
            row = measure_liveness(spec, args.runs, kernel)
            live_rows.append(row)
            what = ", ".join(f"{k} {v}" for k, v in spec.items())
            stored = row["stored_bytes_per_graph_state"]
            print(
                f"{kernel:<8} liveness on {what}: graph {row['graph_states']:,} states, "
                f"{row['graph_edges']:,} edges; whole run {row['wall_s']:.2f}s "
                f"(median of {row['runs']}: {row['wall_s_all']}) against "
                f"{row['safety_wall_s']:.2f}s for safety alone: +{row['liveness_adds_s']:.2f}s "
                f"(analysis {row['analysis_s']:.2f}s), "
                f"peak {row['peak_rss_mib']} MiB against {row['safety_peak_rss_mib']} MiB: "
                f"+{row['liveness_adds_mib']} MiB, {row['bytes_per_graph_state']} B per graph "
                "state"
                + (f" ({stored} B stored: visited set and graph)" if stored else "")
                + f"  [{time.perf_counter() - t:.0f}s]",
                flush=True,
            )
    return live_rows


def _bench_exhaustive() -> list[dict]:
    """The exhaustive runs (EXHAUSTIVE), each with its verdicts."""
    ex_rows = []
    for workload, cores in EXHAUSTIVE:
        row = measure_exhaustive(workload, cores)
        ex_rows.append(row)
        verdicts = row.get("verdicts") or {}
        fails = [k for k, v in verdicts.items() if v not in (Verdict.PASS, Verdict.NOT_APPLICABLE)]
        print(
            f"exhaustive {row['command']}: exit {row['exit_code']}, "
            f"{row.get('states', '?'):,} states, liveness graph "
            f"{row.get('graph_states') or 0:,} states, {row['wall_s']:.0f}s wall, "
            f"{row['cpu_s']:.0f}s CPU, peak {row['peak_rss_mib']:,.0f} MiB; "
            + (
                f"every property {Verdict.PASS.label}"
                if verdicts and not fails
                else f"not passing: {fails}"
            ),
            flush=True,
        )
    return ex_rows
