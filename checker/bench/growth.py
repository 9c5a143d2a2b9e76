"""How far an unbounded search gets in a given time: the growth curve.

    python -m checker.bench.growth --cores 4 --workload mixed --minutes 30

runs the compiled kernel's breadth-first search of a configuration with
`--depth 0` (fine steps unless --steps macro), the safety properties only,
one worker, and prints a line per completed level: the depth, the level's
size, the states so far, the time, the rate and the peak memory; then the
last levels' growth factors. It stops at the time limit (or --max-states)
and says where it was. docs/findings.md has its figures for mixed at 4 Ps.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from checker.engine.explore import STOP_EXHAUSTED, Progress
from checker.kernel import kernel_properties, select_kernel
from checker.kernel.search import explore_compiled
from model.config import Config
from model.factory import build_model
from specs import properties_of
from specs.property import LIVENESS


class _TimeUp(Exception):
    pass


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def growth(cfg: Config, seconds: float, max_states: int | None) -> list[tuple[int, int, float]]:
    """(depth, states when the level was complete, elapsed) for each level
    the search completed within `seconds`."""
    model = build_model(cfg)
    props = [p for p in properties_of(model) if p.default and p.kind != LIVENESS]
    choice = select_kernel(model, kernel_properties(model, props), "compiled")
    if choice.kernel is None:
        raise SystemExit(f"error: {choice.note}")
    print(f"kernel    {choice.note}", flush=True)
    levels: list[tuple[int, int, float]] = []
    last = {"depth": 0, "states": 1}

    def seen(p: Progress) -> None:
        # p.depth is the level being expanded: the levels before it are complete.
        if p.depth > last["depth"]:
            done = last["states"]
            levels.append((last["depth"], done, p.elapsed))
            prev = levels[-2][1] if len(levels) > 1 else 0
            print(
                f"depth {last['depth']:>3}  level {done - prev:>13,}  states {done:>14,}  "
                f"{p.elapsed:8.1f} s  {done / max(p.elapsed, 1e-9):>10,.0f} states/s  "
                f"peak {_peak_mib():,.0f} MiB",
                flush=True,
            )
            last["depth"] = p.depth
        last["states"] = p.states
        if p.elapsed > seconds:
            raise _TimeUp

    start = time.monotonic()
    try:
        ex = explore_compiled(
            choice.kernel, model, props, depth=0, workers=1, max_states=max_states, progress=seen
        )
        if ex.stopped not in ("", STOP_EXHAUSTED):  # Ctrl-C, --max-states: a level cut off
            why = f"stopped ({ex.stopped}), in level {last['depth']} with {len(ex.states):,} states"
        else:
            why = "every reachable state explored"
            if not levels or levels[-1][1] < len(ex.states):
                levels.append((last["depth"], len(ex.states), time.monotonic() - start))
    except _TimeUp:
        why = f"stopped at the time limit, in level {last['depth']} with {last['states']:,} states"
    except KeyboardInterrupt:
        why = f"interrupted, in level {last['depth']} with {last['states']:,} states"
    print(why)
    return levels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.bench.growth", description=__doc__)
    ap.add_argument("--cores", type=int, default=4)
    ap.add_argument("--workload", default="mixed")
    ap.add_argument("--steps", choices=("fine", "macro"), default="fine")
    ap.add_argument("--period", type=int, default=61)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--max-states", type=int, default=None)
    args = ap.parse_args(argv)
    if args.minutes <= 0 or args.cores < 1:
        print("error: --minutes and --cores must be positive", file=sys.stderr)
        return 2
    cfg = Config(cores=args.cores, workload=args.workload, steps=args.steps, period=args.period)
    levels = growth(cfg, args.minutes * 60, args.max_states)
    counts = [0] + [n for _, n, _ in levels]
    sizes = [b - a for a, b in zip(counts[:-1], counts[1:], strict=True)]
    ratios = [b / a for a, b in zip(sizes[-6:-1], sizes[-5:], strict=False) if a]
    if ratios:
        print("growth of the last levels: " + ", ".join(f"x{r:.2f}" for r in ratios))
    print(f"peak memory {_peak_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
