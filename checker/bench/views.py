"""`python -m checker.viewbench`: how fast the views are on a long trace.

Counterexamples are shortest paths and stay short; traces of thousands of
steps come from liveness lassos and from runs of the reference runtime. To
measure the views on one, this builds a synthetic trace: a seeded random
walk through the model (every step a real successor; the seed is recorded
in the trace's #meta) of `--steps` steps on a workload that never ends, and
writes it under `--out`. It then times, as medians of `--runs` runs, reading
and validating the file, the terminal view (every step, and --compact), and
the HTML page; and `python -m checker view` end to end in a fresh process.
Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from checker.engine.trace import INIT, Step
from checker.views.html import render_html
from checker.views.itf import read_trace, trace_document, write_trace
from checker.views.render import Style, render_trace
from model.config import Config
from model.factory import build_model


def random_walk(model, steps: int, seed: int) -> list[Step]:
    """A run of `steps` steps, each chosen uniformly among the enabled ones
    with random.Random(seed); stops early only at a state with no step."""
    rng = random.Random(seed)
    cur = model.initial_states()[0]
    out = [Step(None, INIT, cur)]
    for _ in range(steps):
        succ, _truncated = model.successors(cur)
        if not succ:
            break
        actor, label, cur = rng.choice(succ)
        out.append(Step(actor, label, cur))
    return out


def long_trace(steps: int, seed: int = 1, workload: str = "pingpong-hog", cores: int = 2) -> dict:
    """A synthetic trace of `steps` steps (see the module docstring)."""
    model = build_model(Config(cores=cores, workload=workload))
    walk = random_walk(model, steps, seed)
    return trace_document(
        model,
        walk,
        {
            "engine": "random-walk",
            "property": None,
            "kind": None,
            "message": f"a random walk of {len(walk) - 1} steps (seed {seed}), for benchmarks",
            "depth": len(walk) - 1,
            "seed": seed,
            "workload": workload,
            "mutation": None,
        },
    )


def _median(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.viewbench", description=__doc__)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="reports")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    doc = long_trace(args.steps, args.seed)
    built = time.perf_counter() - t
    path = Path(args.out) / f"long-trace-{args.steps}.itf.json"
    write_trace(path, doc)
    n = len(doc["states"]) - 1
    size = path.stat().st_size
    print(f"trace     {path}: {n:,} steps, {size / 1e6:.1f} MB (built in {built:.1f} s)")

    plain = Style(False)
    rows = [
        ("read + validate", lambda: read_trace(path)),
        ("text, every step", lambda: render_trace(doc, style=plain)),
        ("text, --compact", lambda: render_trace(doc, style=plain, compact=True)),
        ("text, --full --step", lambda: render_trace(doc, style=plain, full=True, only_step=n)),
        ("html page", lambda: render_html(doc, path.name)),
    ]
    print(f"median of {args.runs} runs:")
    for name, fn in rows:
        sec = _median(fn, args.runs)
        print(f"  {name:<22} {sec * 1000:9.1f} ms   {n / sec:12,.0f} steps/s")

    cmd = [sys.executable, "-m", "checker", "view", str(path), "--no-pager"]
    sec = _median(lambda: subprocess.run(cmd, capture_output=True, check=True), args.runs)
    lines = render_trace(doc, style=plain)
    print(f"  {'`view` end to end':<22} {sec * 1000:9.1f} ms   ({len(lines):,} lines of output)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
