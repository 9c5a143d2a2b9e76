"""Faults: a dead worker, signals in every phase, running out of memory.

Each run is a real `python -m checker` process. A signal is sent into a
given phase: the process appends each phase's name to the file named by
GMPCHECK_PHASE_FILE as it starts it (checker/progress.py `announce`), and
the test waits for the name before it signals. Every interrupted run must
end within 2 s of the signal with exit 4, print what it established, leave
no process behind and no partial file."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from checker.bench.hostile_faults import stop_limit_s
from checker.bench.processes import alive as _alive
from checker.bench.processes import descendants as _descendants
from checker.bench.processes import group_members
from checker.golang.gotool import GoToolError, find_toolchain
from checker.views.itf import read_trace


class Run:
    def __init__(self, tmp: Path, *args: str, limit_mb: int | None = None, env: dict | None = None):
        self.phases = tmp / "phases.txt"
        env = dict(
            os.environ, GMPCHECK_PHASE_FILE=str(self.phases), PYTHONUNBUFFERED="1", **(env or {})
        )

        def limit() -> None:
            if limit_mb:
                n = limit_mb * 2**20
                resource.setrlimit(resource.RLIMIT_AS, (n, n))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "checker", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=limit,
        )

    def wait_phase(self, name: str, timeout: float = 240) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.phases.exists() and name in self.phases.read_text().splitlines():
                return
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"ended before phase {name!r}: {out[-2000:]} {err[-2000:]}")
            time.sleep(0.02)
        self.proc.kill()
        raise AssertionError(f"phase {name!r} never started")

    def signal(self, sig: int, delay: float = 0.05) -> tuple[int, str, str, float, set[int]]:
        time.sleep(delay)
        kids = _descendants(self.proc.pid)
        t = time.monotonic()
        self.proc.send_signal(sig)
        out, err = self._communicate(60, kids)
        return self.proc.returncode, out, err, time.monotonic() - t, kids

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        out, err = self._communicate(timeout, _descendants(self.proc.pid))
        return self.proc.returncode, out, err

    def _communicate(self, timeout: float, kids: set[int]) -> tuple[str, str]:
        """The run's output; a run that does not end in time is killed, with
        its processes, so that a failing test leaves nothing behind."""
        try:
            return self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for k in [self.proc.pid, *kids]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(k, signal.SIGKILL)
            self.proc.communicate()
            raise


def _clean(out_dir: Path) -> None:
    """No partial file: no temporary left, every trace whole."""
    if not out_dir.exists():
        return
    for f in out_dir.rglob("*"):
        assert not f.name.startswith("."), f"temporary file left behind: {f}"
        if f.name.endswith(".itf.json"):
            read_trace(f)


def _stopped(code, out, err, took, kids, *, needle: str) -> None:
    assert code == 4, (code, out[-3000:], err[-3000:])
    bound = stop_limit_s()
    assert took <= bound, f"took {took:.2f} s to stop (bound {bound:.1f} s)"
    assert "Traceback" not in err and "Traceback" not in out, err[-3000:]
    assert needle in out + err, (out[-3000:], err[-3000:])
    time.sleep(0.2)
    left = [k for k in kids if _alive(k)]
    assert not left, f"processes left behind: {left}"


CHECK = ("--cores", "4", "--depth", "12", "--workers", "2")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize(
    "phase, needle",
    [
        ("safety search", "no violation in"),
        ("liveness search", "no-lost-g             PASS  (up to depth 12)"),
        ("liveness analysis", "no-lost-g             PASS  (up to depth 12)"),
    ],
)
def test_a_signal_in_each_phase_of_check(tmp_path, phase, needle, sig):
    out_dir = tmp_path / "out"
    r = Run(tmp_path, *CHECK, "--out", str(out_dir))
    r.wait_phase(phase)
    code, out, err, took, kids = r.signal(sig, delay=0.3 if phase == "safety search" else 0.02)
    _stopped(code, out, err, took, kids, needle=needle)
    assert "exit 4" in out
    _clean(out_dir)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_while_the_engines_are_imported_is_exit_4(tmp_path, sig):
    """Importing the engines takes a second or more on a busy machine: a
    stop meanwhile is exit 4 with one line, not a traceback or death by the
    signal (exit 143 for SIGTERM). The run is endless, so that on a fast
    machine, where the import is over, the stop finds it searching."""
    r = Run(tmp_path, "--cores", "4", "--depth", "0", "--kernel", "python", "--quiet",
            "--out", str(tmp_path / "out"))  # fmt: skip
    r.wait_phase("loading")
    code, out, err, took, kids = r.signal(sig, delay=0.0)
    _stopped(code, out, err, took, kids, needle="interrupted")
    if not out:  # stopped while importing
        assert len(err.strip().splitlines()) == 1, err


def test_sighup_stops_check_like_ctrl_c(tmp_path):
    r = Run(tmp_path, *CHECK, "--out", str(tmp_path / "out"))
    r.wait_phase("liveness search")
    _stopped(*r.signal(signal.SIGHUP), needle="the liveness pass was interrupted")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_prove(tmp_path, sig):
    r = Run(tmp_path, "prove", "--cores", "2", "--out", str(tmp_path / "out"))
    r.wait_phase("k-induction")
    code, out, err, took, kids = r.signal(sig, delay=1.0)
    _stopped(code, out, err, took, kids, needle="interrupted")
    _clean(tmp_path / "out")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_lemmas_proof_stops_before_bmc(tmp_path, sig):
    r = Run(
        tmp_path, "--engine", "smt", "--lemmas", "--cores", "2", "--depth", "10",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    r.wait_phase("lemmas proof (k-induction)")
    code, out, err, took, kids = r.signal(sig, delay=4.0)
    _stopped(code, out, err, took, kids, needle="interrupted during the --lemmas proof")
    assert "bmc" not in r.phases.read_text().splitlines()


def test_a_signal_during_bmc_keeps_the_depths_decided(tmp_path):
    r = Run(tmp_path, "--engine", "smt", "--cores", "3", "--depth", "14")
    r.wait_phase("bmc: depth 3 decided")
    code, out, err, took, kids = r.signal(signal.SIGTERM, delay=0.0)
    _stopped(code, out, err, took, kids, needle="decided up to depth")
    assert "inconclusive" in out.lower()


def test_a_signal_before_the_proof_starts_says_so(tmp_path):
    r = Run(tmp_path, "--engine", "smt", "--lemmas", "--cores", "2", "--depth", "10")
    r.wait_phase("lemmas proof (k-induction)")
    _stopped(*r.signal(signal.SIGTERM, delay=0.0), needle="--lemmas proof")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_gate_writes_junit_for_the_finished_cells(tmp_path, sig):
    junit = tmp_path / "gate.xml"
    r = Run(
        tmp_path, "gate", "--workers", "2", "--cell", "safety/mixed/c2", "--cell",
        "mutation/no-needspinning", "--cell", "safety/mixed/c4", "--junit", str(junit),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    r.wait_phase("gate cells")
    time.sleep(0.3)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a cell has finished
        if junit.exists():
            break
        code, _, _ = (None, None, None)
        time.sleep(0.5)
        break
    code, out, err, took, kids = r.signal(sig, delay=4.0)
    _stopped(code, out, err, took, kids, needle="gate: STOPPED")
    assert junit.exists() and "<testsuite" in junit.read_text()
    _clean(tmp_path / "out")


def test_record_keeps_the_recording_when_interrupted(tmp_path):
    out_dir = tmp_path / "out"
    for phase in ("recording", "record check"):
        r = Run(
            tmp_path, "record", "--cores", "4", "--workload", "tight-loop", "--steps",
            "5000", "--out", str(out_dir),
        )  # fmt: skip
        r.wait_phase(phase)
        code, out, err, took, kids = r.signal(signal.SIGTERM, delay=0.02)
        if code == 0:  # the phase ended before the signal came: nothing to judge
            continue
        _stopped(code, out, err, took, kids, needle="recording ")
        (rec,) = out_dir.glob("record-*.itf.json")
        read_trace(rec)
        rec.unlink()
        r.phases.unlink()


def _no_go() -> str:
    try:
        find_toolchain()
    except GoToolError as e:
        return str(e)
    return ""


needs_go = pytest.mark.skipif(bool(_no_go()), reason=_no_go() or "go")
SPAWNER = ROOT / "tests" / "faults" / "spawner.go"


@needs_go
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_conform_runs_the_program_ends_it_and_its_children(tmp_path, sig):
    private = tmp_path / "tmp"  # conform's temporary directory goes here, nobody else's
    private.mkdir()
    r = Run(
        tmp_path, "conform", str(SPAWNER), "--out", str(tmp_path / "out"),
        env={"TMPDIR": str(private)},
    )  # fmt: skip
    r.wait_phase("running the program")
    time.sleep(1.0)  # the program has started its child
    kids = _descendants(r.proc.pid)
    assert any("sleep" in Path(f"/proc/{k}/cmdline").read_text() for k in kids if _alive(k))
    code, out, err, took, _ = r.signal(sig, delay=0.0)
    _stopped(code, out, err, took, kids, needle="interrupted")
    assert list(private.iterdir()) == []  # its temporary directory is gone


@needs_go
def test_conform_timeout_kills_the_program_and_its_children(tmp_path):
    r = Run(tmp_path, "conform", str(SPAWNER), "--timeout", "3", "--out", str(tmp_path / "o"))
    r.wait_phase("running the program")
    time.sleep(1.0)
    kids = _descendants(r.proc.pid)
    code, out, err = r.finish()
    assert code == 2 and "did not finish within 3s" in err, err
    time.sleep(0.2)
    assert not [k for k in kids if _alive(k)]


@pytest.mark.parametrize("workers", ["2"])
def test_a_killed_worker_ends_check_within_10_s(tmp_path, workers):
    r = Run(tmp_path, "--cores", "4", "--depth", "0", "--workers", workers, "--out", str(tmp_path))
    r.wait_phase("safety search")
    time.sleep(2.0)
    victim = max(_descendants(r.proc.pid))
    t = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    code, out, err = r.finish(timeout=30)
    assert time.monotonic() - t < 10
    assert code == 4 and f"worker process {victim} was killed by SIGKILL" in out, (out, err)
    assert "no violation in" in out and "Traceback" not in err


def test_a_killed_worker_ends_the_gate_within_10_s(tmp_path):
    junit = tmp_path / "j.xml"
    r = Run(
        tmp_path, "gate", "--workers", "2", "--cell", "safety/mixed/c4", "--cell",
        "safety/mixed/c3", "--junit", str(junit), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    r.wait_phase("gate cells")
    time.sleep(1.5)
    victim = max(_descendants(r.proc.pid))
    t = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    code, out, err = r.finish(timeout=30)
    assert time.monotonic() - t < 10
    assert code == 4 and "was killed by SIGKILL" in out and "gate: STOPPED" in out, (out, err)
    assert junit.exists()


# A worker SIGKILLed while it writes its result leaves half a message in the
# pool's result pipe: CPython's own pool thread then waits for the rest for
# ever and the futures never fail. Made deterministic: the first task writes
# a length prefix of 100 bytes, no body, and kills itself; the other workers
# never answer (nothing more reaches the pipe). Run in a child process so
# that a hang ends at a timeout, not in pytest.
_HALF_WRITTEN = """
import os, signal, struct, sys, time
from checker.engine import explore
from checker.gate import cells, gate
from checker.signals import pool_failure, start_pool, terminate_pool

MARK = sys.argv[2]

def half_written(*args, **kwargs):
    try:
        fd = os.open(MARK, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        time.sleep(60)  # ended by the parent long before
        return None
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.write(POOL._result_queue._writer.fileno(), struct.pack("!i", 100))
    os.kill(os.getpid(), signal.SIGKILL)

if sys.argv[1] == "explore":
    # The pool as `check --workers 2` makes it, its tasks the engine's _expand.
    half_written.__module__, half_written.__qualname__ = explore.__name__, "_expand"
    explore._expand = half_written
    POOL = explore._open_pool(2)
    try:
        start_pool(POOL)
        ex = type("Ex", (), {"states": list(range(300))})()
        for _ in explore._run_level(POOL, 2, ex, list(range(300)), True, set()):
            pass
    except explore.BrokenProcessPool:
        print("stopped:", pool_failure(POOL), flush=True)
        terminate_pool(POOL)
        os._exit(4)
else:
    # The gate's pool, its tasks the cells (POOL is the pool _run_all makes).
    half_written.__module__, half_written.__qualname__ = gate.__name__, "run_cell"
    gate.run_cell = half_written
    import concurrent.futures as cf
    real = cf.ProcessPoolExecutor

    def keep(*a, **k):
        global POOL
        POOL = real(*a, **k)
        return POOL

    cf.ProcessPoolExecutor = keep
    cs = [cells.Cell(id=f"c{i}", kind="safety", config={}, expect={}) for i in range(4)]
    try:
        gate._run_all(cs, 2, quiet=True)
    except gate.GateStopped as e:
        print("stopped:", e.reason, flush=True)
        os._exit(4)
os._exit(0)
"""


@pytest.mark.parametrize("where", ["explore", "gate"])
def test_a_worker_killed_while_writing_its_result_ends_the_wait(tmp_path, where):
    mark = tmp_path / "victim"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HALF_WRITTEN, where, str(mark)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: a hang is ended with its workers
    )
    t = time.monotonic()
    try:
        out, err = proc.communicate(timeout=20 * stop_limit_s())
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("the wait on the pool hung after its worker died") from None
    took = time.monotonic() - t
    victim = mark.read_text()
    assert proc.returncode == 4, (proc.returncode, out, err)
    assert f"worker process {victim} was killed by SIGKILL" in out, (out, err)
    assert took < 10 * stop_limit_s(), took
    time.sleep(0.2)
    assert not group_members(proc.pid), "worker processes left behind"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_running_out_of_memory_is_exit_4_with_the_reason(tmp_path, workers):
    r = Run(
        tmp_path, "--cores", "4", "--depth", "0", "--workers", workers, "--property",
        "no-lost-g", "--out", str(tmp_path), limit_mb=450,
    )  # fmt: skip
    code, out, err = r.finish(timeout=600)
    assert code == 4, (code, out[-2000:], err[-2000:])
    assert "out of memory" in out + err and "Traceback" not in err
    assert "--max-states" in out + err


def test_the_json_summary_of_a_stopped_run_says_why(tmp_path):
    r = Run(tmp_path, *CHECK, "--json", "--out", str(tmp_path))
    r.wait_phase("liveness search")
    code, out, err, _, _ = r.signal(signal.SIGTERM)
    assert code == 4
    doc = json.loads(out)
    assert doc["result"]["liveness_stopped"] == "interrupted"
    safety = [p for p in doc["properties"] if p["kind"] != "liveness"]
    assert all(p["verdict"] == "pass" for p in safety)


def test_an_interrupt_wrapped_as_a_class_is_made_is_still_an_interrupt(monkeypatch, capsys):
    """Python 3.11 wraps a KeyboardInterrupt raised in __set_name__ (a
    dataclass being made as a module is imported) in a RuntimeError: it is
    still a stop, exit 4, not an internal error."""
    from checker.app import main as app_main
    from checker.signals import caused_by_interrupt

    class Field:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt("SIGHUP")

    def handler(args):
        type("Made", (), {"f": Field()})

    with pytest.raises(BaseException) as info:
        handler(None)
    assert caused_by_interrupt(info.value)
    assert not caused_by_interrupt(RuntimeError("x"))
    parser, _ = app_main._build()
    monkeypatch.setattr(app_main, "_build", lambda: (parser, {"list": handler}))
    assert app_main.main(["list"]) == 4
    assert "interrupted" in capsys.readouterr().err


def test_a_finalizer_of_an_object_a_stop_left_half_built_is_quiet(capsys, monkeypatch):
    # A stop signal inside z3's AstRef.__init__, before it sets ctx, left
    # "Exception ignored in: AstRef.__del__ ... no attribute 'ctx'" on
    # stderr after the one-line summary. After a stop, such a finalizer's
    # AttributeError is not shown; before one, it is, as Python shows it.
    import gc

    from checker import signals

    class HalfBuilt:
        def __init__(self) -> None:
            raise KeyboardInterrupt

        def __del__(self) -> None:
            self.ctx.ref()  # type: ignore[attr-defined]

    def build() -> None:
        with contextlib.suppress(KeyboardInterrupt):
            HalfBuilt()
        gc.collect()

    monkeypatch.setattr(sys, "unraisablehook", signals.quiet_half_built)
    monkeypatch.setitem(signals._state, "first", 0.0)
    build()
    assert "AttributeError" in capsys.readouterr().err
    monkeypatch.setitem(signals._state, "first", time.monotonic())
    build()
    assert capsys.readouterr().err == ""
