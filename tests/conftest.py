"""Shared helpers: build models, run the engine, run the CLI as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from checker.engine.explore import explore
from checker.run import run_check
from model.config import Config
from model.factory import build_model
from specs import properties_of

ROOT = Path(__file__).resolve().parent.parent

# The suite runs the Python steps unless a test asks for the compiled kernel
# (tests/test_kernel.py compares the two): building a kernel for each of the
# many configurations here would cost minutes. The gate in CI runs the
# compiled kernel on every cell.
os.environ.setdefault("GMPCHECK_KERNEL", "python")


def check(
    depth: int, props: list[str] | None = None, symmetry: bool = True, workers: int = 1, **cfg
):
    """Explore a configuration for its safety properties (or `props`);
    return (model, exploration)."""
    model = build_model(Config(**cfg), symmetry=symmetry)
    ps = [p for p in properties_of(model) if p.default and p.kind != "liveness"]
    if props is not None:
        ps = [p for p in properties_of(model) if p.id in props]
    return model, explore(model, ps, depth=depth, workers=workers)


def check_all(depth: int, props: list[str] | None = None, symmetry: bool = True, **cfg):
    """A whole check run, liveness included, as the command line does it:
    (model, CheckRun)."""
    model = build_model(Config(**cfg), symmetry=symmetry)
    ps = [p for p in properties_of(model) if p.default]
    if props is not None:
        ps = [p for p in properties_of(model) if p.id in props]
    return model, run_check(model, ps, depth=depth)


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300):
    """`python -m checker ARGS` in a subprocess: (exit code, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "checker", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


def mutation_check_args(mut, props=None, at=None) -> list[str]:
    """The CLI arguments of one of a mutation's registered checks (its
    first, unless `props` and `at` name another of `mut.checks()`)."""
    from model.mutations import config_args

    props = mut.violates if props is None else props
    at = mut.check_at if at is None else at
    args = ["--mutation", mut.name, *config_args(at), "--quiet"]
    for p in props:
        args += ["--property", p]
    return args


# Bugs whose counterexample is deeper on the go1.26 profile than at their
# check_at (a system call takes a step more there: exitsyscallTryGetP's).
GO126_DEPTH = {"handoffp-ignores-global-queue": 28, "stopm-skips-mput": 11,
               "globrunqget-no-size-cap": 23}  # fmt: skip


def _mutation_checks(root: Path, profile: str) -> dict[str, list[Path]]:
    """One check run per registered check of each bug mutation that applies
    to `profile` (run side by side), and the trace files each wrote, by
    mutation name (its first check's first)."""
    from model.mutations import MUTATIONS

    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    procs = {}
    for m in MUTATIONS.values():
        if m.benign or profile not in m.profiles:
            continue
        for k, (props, at) in enumerate(m.checks()):
            extra: list[str] = []
            if profile != "go1.25":
                extra = ["--profile", profile]
                if k == 0 and m.name in GO126_DEPTH:
                    at = {**at, "depth": GO126_DEPTH[m.name]}
            out = root / m.name / str(k)
            cmd = [sys.executable, "-m", "checker", *mutation_check_args(m, props, at), *extra]
            procs[m.name, k] = subprocess.Popen(
                [*cmd, "--workers", "1", "--out", str(out)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
    traces: dict[str, list[Path]] = {}
    for (name, k), proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode in (1, 3), f"{name} check {k}: exit {proc.returncode}: {err}"
        traces.setdefault(name, []).extend(sorted((root / name / str(k)).glob("*.itf.json")))
    return traces


@pytest.fixture(scope="session")
def mutation_traces(tmp_path_factory) -> dict[str, list[Path]]:
    """The counterexamples the checker ships (_mutation_checks), go1.25."""
    return _mutation_checks(tmp_path_factory.mktemp("mutation-traces"), "go1.25")


@pytest.fixture(scope="session")
def mutation_traces_go126(tmp_path_factory) -> dict[str, list[Path]]:
    """The same on the go1.26 profile, for the bugs that apply to it (at
    GO126_DEPTH where theirs is deeper)."""
    return _mutation_checks(tmp_path_factory.mktemp("mutation-traces-go126"), "go1.26")
