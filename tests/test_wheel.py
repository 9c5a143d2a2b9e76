"""The wheel holds everything a run needs: built from a copy of the sources,
installed in a fresh virtual environment (no system site-packages, its
dependencies from pip's cache or the package index), it runs
`python -m checker gate --quick` from outside the source tree and exits 0.
That run reads the gate's manifest and compiles the kernel from its C
sources in a new cache, so both must be package data; the HTML view's
assets are checked in the wheel's file list."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "model", "specs", "checker", "runtime")
PACKAGE_DATA = (
    "checker/gate/gate_manifest.json",
    "checker/kernel/engine.c",
    "checker/kernel/engine_head.h",
    "checker/views/assets/viewer.html",
    "checker/views/assets/viewer.css",
    "checker/views/assets/viewer.js",
)


def _run(argv: list, cwd: Path, timeout: float, env: dict | None = None):
    out = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert out.returncode == 0, f"{argv[:4]}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def test_the_wheel_installed_in_a_fresh_venv_runs_the_quick_gate(tmp_path):
    # A copy of the sources: a build in the tree would leave build/ behind,
    # and a stale build/ could put deleted modules in the wheel.
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so")
            )
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, src], tmp_path, 600)
    (wheel,) = dist.glob("gmpcheck-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [f for f in PACKAGE_DATA if f not in names] == []

    env_dir = tmp_path / "venv"
    try:
        venv.create(env_dir, with_pip=True, system_site_packages=False)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"no virtual environment can be made here: {e}")
    python = env_dir / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", wheel], tmp_path, 1200)

    run_dir = tmp_path / "run"  # not the source tree: the installed package runs
    run_dir.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "GMPCHECK_KERNEL", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["GMPCHECK_CACHE"] = str(tmp_path / "kernel-cache")  # the kernel built from the wheel
    out = _run([python, "-m", "checker", "gate", "--quick", "--quiet"], run_dir, 1800, env=env)
    assert "gate: PASS" in out.stdout
    where = _run([python, "-c", "import checker; print(checker.__file__)"], run_dir, 60, env=env)
    assert str(env_dir) in where.stdout
