"""`python -m checker bench --against REV`: the explicit engine here against
the same engine at another commit, on the canonical run.

Each run is a fresh process with one worker, timed in CPU seconds (the
search alone, not the start-up). The two trees take turns, in an order that
alternates from one run to the next, so that a machine that slows down or
speeds up during the benchmark weighs on both alike; the figures are
medians. When the two commits' models reach different numbers of states,
the ratio is of CPU time per state and the output says so.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# Runs in the tree being measured (its own model, engine and properties).
_CHILD = r"""
import json, os, sys, time
from model.config import Config
from model.factory import build_model
try:
    from checker.engine.explore import explore
except ImportError:  # a tree from before checker/ had rooms
    from checker.explore import explore
try:  # a tree from before the properties were asked of specs/
    from specs import properties_of
except ImportError:
    def properties_of(m):
        return m.properties()
cores, depth, symmetry = (int(x) for x in sys.argv[1:4])
m = build_model(Config(cores=cores), symmetry=bool(symmetry))
props = [p for p in properties_of(m) if p.default]
t = time.process_time()
ex = explore(m, props, depth=depth, workers=1)
cpu = time.process_time() - t
tree = os.path.realpath(sys.argv[4]) + os.sep
outside = sorted(n for n, mod in sys.modules.items()
                 if n.split(".")[0] in ("model", "checker", "specs", "runtime")
                 and getattr(mod, "__file__", None)
                 and not os.path.realpath(mod.__file__).startswith(tree))
print(json.dumps({"states": len(ex.states), "cpu_s": cpu, "outside": outside}))
"""


class AgainstError(Exception):
    """REV is not a commit of this repository, or its tree cannot be measured."""


def _git(*argv: str, cwd: Path) -> str:
    try:
        out = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, text=True)
    except OSError as e:
        raise AgainstError(f"git: {e.strerror}") from None
    if out.returncode != 0:
        raise AgainstError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "git")
    return out.stdout.strip()


def _run(tree: Path, name: str, cores: int, depth: int, symmetry: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(cores), str(depth), str(int(symmetry)), str(tree)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        last = out.stderr.strip().splitlines()[-1:] or ["no output"]
        raise AgainstError(f"the canonical run failed at {name}: {last[0]}")
    row = json.loads(out.stdout)
    # The tree's own code must be what ran: a module the commit lacks would
    # otherwise be found in the installed project.
    if row["outside"]:
        raise AgainstError(
            f"the run at {name} imported {row['outside'][0]} from outside its own tree"
        )
    return row


def _summary(samples: list[dict]) -> dict:
    cpu = statistics.median(s["cpu_s"] for s in samples)
    states = max(samples[0]["states"], 1)
    return {
        "states": states,
        "cpu_s_median": round(cpu, 3),
        "cpu_s_fastest": round(min(s["cpu_s"] for s in samples), 3),
        "cpu_s_all": [round(s["cpu_s"], 3) for s in samples],
        "us_per_state": round(cpu / states * 1e6, 2),
    }


def compare(rev: str, runs: int, cores: int, depth: int, here: Path | None = None) -> dict:
    """Measure the working tree `here` and commit `rev` of its repository
    alternately, `runs` times each, with symmetry on and off."""
    here = (here or Path.cwd()).resolve()
    try:
        root = Path(_git("rev-parse", "--show-toplevel", cwd=here))
    except AgainstError:
        raise AgainstError(f"{here} is not in a git checkout of gmpcheck") from None
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=root)
    except AgainstError:
        raise AgainstError(f"{rev!r} is not a commit of {root}") from None
    rows = []
    with tempfile.TemporaryDirectory(prefix="gmpcheck-against-") as tmp:
        other = Path(tmp) / "tree"
        _git("worktree", "add", "--detach", "--quiet", str(other), commit, cwd=root)
        try:
            for symmetry in (True, False):
                samples: dict[str, list[dict]] = {"here": [], "rev": []}
                for i in range(runs):
                    order = (("here", root), ("rev", other))
                    for side, tree in order if i % 2 == 0 else order[::-1]:
                        name = "the working tree" if side == "here" else rev
                        samples[side].append(_run(tree, name, cores, depth, symmetry))
                a, b = _summary(samples["here"]), _summary(samples["rev"])
                same = a["states"] == b["states"]
                # CPU time per state: with the same states, the ratio of CPU times.
                there = b["us_per_state"]
                ratio = a["us_per_state"] / there if there > 0 else None
                rows.append(
                    {
                        "symmetry": symmetry,
                        "here": a,
                        "rev": b,
                        "same_states": same,
                        "ratio": None if ratio is None else round(ratio, 4),
                    }
                )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(other)],
                cwd=root,
                capture_output=True,
            )
    return {
        "rev": rev,
        "rev_commit": commit[:12],
        "cores": cores,
        "depth": depth,
        "runs": runs,
        "rows": rows,
    }


def describe(doc: dict, here: str) -> list[str]:
    """The comparison, one line per symmetry setting; `here` names the
    working tree (its commit)."""
    lines = []
    for r in doc["rows"]:
        a, b = r["here"], r["rev"]
        what = "CPU time" if r["same_states"] else "CPU time per state (the models differ)"
        ratio = "too short to compare" if r["ratio"] is None else f"{r['ratio']:.3f}"
        side = "{:,} states, {:.2f}s CPU (fastest {:.2f}s), {} us/state".format
        lines.append(
            f"cores {doc['cores']} depth {doc['depth']} symmetry "
            f"{'on ' if r['symmetry'] else 'off'}: "
            f"here ({here}) "
            + side(a["states"], a["cpu_s_median"], a["cpu_s_fastest"], a["us_per_state"])
            + f"; {doc['rev']} ({doc['rev_commit']}) "
            + side(b["states"], b["cpu_s_median"], b["cpu_s_fastest"], b["us_per_state"])
            + f"; {what} here / there: {ratio} (medians of {doc['runs']}, alternating)"
        )
    return lines
