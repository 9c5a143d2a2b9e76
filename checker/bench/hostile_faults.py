"""The injected faults of the hostile probe (checker/bench/hostile.py).

Each case starts `python -m checker ...` in its own session, injects one
fault a given time after the start (SIGTERM, SIGINT to the process group as
a terminal's Ctrl-C does, SIGHUP, SIGKILL of one worker process, a disk that
fills, a second run into the same --out) and judges what follows: the exit
code, the time from the signal to the exit, the summary, tracebacks, the
processes left in the group, temporary files; and what was lost: verdicts
a finished phase had established and that the stopped run did not print,
or a checkpoint that does not resume to the uninterrupted run's result.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from checker.bench.processes import ROOT, Child, Outcome, descendants, temporaries
from checker.verdict import Verdict
from checker.views.itf import read_trace

FAIL = Verdict.FAIL.label  # a failed property in a text summary

STOP = "interrupted"  # what a run stopped before it established anything says
SEARCH = "safety search"  # a check stopped after this phase started prints its summary
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT, "SIGHUP": signal.SIGHUP}
LIMIT_MB = 4096

CHECK_PY = ["--cores", "4", "--depth", "12", "--kernel", "python"]
CHECK_C = ["--cores", "4", "--depth", "14", "--kernel", "compiled"]
# An unbounded search of a few seconds, to stop and resume: the same
# configuration on either kernel (more cores for the faster compiled one).
CP_ARGS = "--workload spawn-burst --steps macro --period 2 --depth 0 --quiet --json --workers 1"
CP_PY = ["--cores", "2", *CP_ARGS.split(), "--kernel", "python"]
CP_C = ["--cores", "3", *CP_ARGS.split(), "--kernel", "compiled"]
BUG = [
    "--cores",
    "1",
    "--workload",
    "syscall-heavy",
    "--mutation",
    "exitsyscall-drops-g",
    "--depth",
    "11",
    "--quiet",
    "--property",
    "no-lost-g",
]
GATE = [
    "gate",
    "--workers",
    "2",
    "--cell",
    "safety/mixed/c2",
    "--cell",
    "safety/mixed/c4",
    "--cell",
    "safety/mixed/c3",
]


@dataclass
class FaultCase:
    kind: str  # the row of the table it counts in
    name: str
    args: list[str]
    fault: str  # a key of SIGNALS, "kill-worker", "full-disk" or "concurrent"
    at: float = 1.0  # seconds after the start
    expect: int = 4
    needle: str = "result"  # in the output of a run stopped once the search started
    checkpoint: tuple[str, ...] = ()  # the uninterrupted command, for a resume
    phase: str = ""  # if given, `at` counts from the start of this phase
    json_out: bool = False
    junit: bool = False


@dataclass
class FaultResult:
    case: FaultCase
    problems: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    output: str = ""  # the end of stderr and the start of stdout, to read a failure by
    stop_s: float | None = None
    hit: bool = True  # False: the run ended before the fault came
    resume_s: float | None = None


def _signal_cases() -> list[FaultCase]:
    cases = []
    for sig in SIGNALS:
        for at in (0.3, 1.0, 2.0, 4.0):
            for kernel, base in (("python", CHECK_PY), ("compiled", CHECK_C)):
                for w in ("1", "2"):
                    args = [*base, "--workers", w, "--quiet"]
                    js = sig != "SIGHUP"
                    cases.append(
                        FaultCase(
                            f"check {kernel} w{w}", f"{sig} at {at} s", args, sig, at, json_out=js
                        )
                    )
        for kernel, base, ws in (("python", CHECK_PY, ("2",)), ("compiled", CHECK_C, ("1", "2"))):
            for w in ws:
                if kernel == "python" and sig != "SIGTERM":
                    continue
                cases.append(
                    FaultCase(
                        f"check {kernel} w{w}",
                        f"{sig} 0.1 s into the liveness search",
                        [*base, "--workers", w, "--quiet"],
                        sig,
                        0.1,
                        json_out=sig != "SIGHUP",
                        phase="liveness search",
                    )
                )
        for at in (1.0, 3.0):
            for kernel, base in (("python", CP_PY), ("compiled", CP_C)):
                cases.append(
                    FaultCase(
                        f"check {kernel} --checkpoint",
                        f"{sig} at {at} s",
                        base,
                        sig,
                        at,
                        checkpoint=tuple(base),
                        json_out=True,
                    )
                )
        for at in (0.3, 2.0):
            smt = ["--engine", "smt", "--cores", "3", "--depth", "14", "--quiet"]
            lem = ["--engine", "smt", "--lemmas", "--cores", "2", "--depth", "10", "--quiet"]
            cases += [
                FaultCase("check --engine smt", f"{sig} at {at} s", smt, sig, at, needle=STOP),
                FaultCase(
                    "prove",
                    f"{sig} at {at} s",
                    ["prove", "--cores", "2", "--quiet"],
                    sig,
                    at,
                    needle="interrupted",
                ),
                FaultCase("smt --lemmas", f"{sig} at {at} s", lem, sig, at, needle=STOP),
            ]
        for at in (1.0, 3.0):
            cases.append(
                FaultCase(
                    "gate",
                    f"{sig} at {at} s",
                    [*GATE, "--quiet"],
                    sig,
                    at,
                    needle="gate:",
                    junit=True,
                )
            )
        rec = ["record", "--cores", "4", "--workload", "tight-loop", "--seconds", "30"]
        cases.append(FaultCase("record", f"{sig} at 1.0 s", rec, sig, 1.0, needle="recording"))
        conform = ["conform", str(ROOT / "tests" / "faults" / "spawner.go"), "--quiet"]
        cases.append(
            FaultCase(
                "conform PROGRAM.go", f"{sig} at 4.0 s", conform, sig, 4.0, needle="interrupted"
            )
        )
    return cases


def _other_cases() -> list[FaultCase]:
    py2 = ["--cores", "4", "--depth", "0", "--kernel", "python", "--workers", "2", "--quiet"]
    return [
        FaultCase(
            "SIGKILL a worker",
            "check python w2 at 2.0 s",
            py2,
            "kill-worker",
            2.0,
            needle="was killed by SIGKILL",
        ),
        FaultCase(
            "SIGKILL a worker",
            "check python w2 at 4.0 s",
            py2,
            "kill-worker",
            4.0,
            needle="was killed by SIGKILL",
        ),
        FaultCase(
            "SIGKILL a worker",
            "gate w2 at 2.0 s",
            [*GATE, "--quiet"],
            "kill-worker",
            2.0,
            needle="was killed by SIGKILL",
            junit=True,
        ),
        FaultCase(
            "full disk",
            "a counterexample that does not fit",
            BUG,
            "full-disk",
            expect=1,
            needle=FAIL,
        ),
        FaultCase(
            "full disk",
            "the same, --json",
            BUG,
            "full-disk",
            expect=1,
            needle=Verdict.FAIL.value,
            json_out=True,
        ),
        FaultCase("concurrent --out", "two runs at once", BUG, "concurrent", expect=1, needle=FAIL),
        FaultCase(
            "concurrent --out", "three runs at once", BUG, "concurrent", expect=1, needle=FAIL
        ),
    ]


QUICK = {
    ("check python w2", "SIGTERM at 1.0 s"),
    ("check compiled w1", "SIGINT 0.1 s into the liveness search"),
    ("check python --checkpoint", "SIGTERM at 3.0 s"),
    ("prove", "SIGHUP at 2.0 s"),
    ("SIGKILL a worker", "check python w2 at 2.0 s"),
    ("full disk", "a counterexample that does not fit"),
    ("concurrent --out", "two runs at once"),
}


def fault_cases(quick: bool = False) -> list[FaultCase]:
    cases = [*_signal_cases(), *_other_cases()]
    if quick:
        cases = [c for c in cases if (c.kind, c.name) in QUICK]
    return cases


def load_factor() -> float:
    """How oversubscribed the machine is now: its load average over a
    minute per CPU, and 1 when that is within its CPUs."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def stop_limit_s() -> float:
    """2 s on a machine that is not oversubscribed; more as its load grows."""
    return 2.0 * load_factor()


def _phases(f: Path) -> list[str]:
    try:
        return f.read_text().splitlines()
    except OSError:
        return []


def _common(r: FaultResult, o: Outcome, out_dir: Path, phases: list[str] | None = None) -> None:
    c = r.case
    r.output = f"stderr: {o.err[-400:]!r} stdout: {o.out[:300]!r}"
    if o.timed_out:
        r.problems.append("did not end (killed after the time limit)")
    elif o.code != c.expect:
        r.problems.append(f"exit {o.code}, expected {c.expect}")
    if "Traceback" in o.out + o.err:
        r.problems.append("traceback: " + o.err.strip().splitlines()[-1][:200])
    early = "interrupted before the work started" in o.err or (
        phases is not None and SEARCH not in phases and o.err.strip().endswith(STOP)
    )
    if c.needle not in o.out + o.err and not early:
        r.problems.append(f"no {c.needle!r} in the output (no summary)")
    if o.left:
        r.problems.append(f"processes left behind: {o.left}")
    tmp = temporaries(out_dir)
    if tmp:
        r.problems.append(f"partial files left: {[t.name for t in tmp]}")
    for f in out_dir.rglob("*.itf.json") if out_dir.is_dir() else ():
        try:
            read_trace(f)
        except Exception as e:  # noqa: BLE001 - any failure to read it is the finding
            r.problems.append(f"{f.name} does not read back: {e}")
    if c.json_out and o.code in (0, 1, 3, 4) and not early:
        try:
            json.loads(o.out)
        except ValueError:
            r.problems.append("the --json summary is not JSON")


def _lost_verdicts(r: FaultResult, o: Outcome, phases: list[str]) -> None:
    """A safety search that had finished must keep its verdicts."""
    if "liveness search" not in phases or r.case.checkpoint:
        return
    if r.case.json_out:
        try:
            doc = json.loads(o.out)
        except ValueError:
            r.lost.append("the safety search had finished; no summary")
            return
        safety = [p for p in doc["properties"] if p["kind"] != "liveness"]
        missing = [p["id"] for p in safety if p["verdict"] != Verdict.PASS]
        if missing:
            r.lost.append(f"finished safety verdicts not kept: {missing}")
    elif "no-lost-g             PASS" not in o.out:
        r.lost.append("the safety search had finished; its PASS verdicts are not printed")


def _lost_depths(r: FaultResult, o: Outcome, phases: list[str]) -> None:
    """BMC keeps the depths it decided before the stop."""
    decided = [int(m.group(1)) for p in phases if (m := re.match(r"bmc: depth (\d+) decided", p))]
    if decided and "--lemmas" not in r.case.args:
        shown = re.findall(r"decided up to depth (\d+)", o.out + o.err)
        if not shown or max(int(x) for x in shown) < max(decided):
            r.lost.append(f"BMC had decided depth {max(decided)}; the summary says {shown}")


def _counts(out: str) -> dict | None:
    try:
        s = json.loads(out)
        return {"exit": s["exit_code"], **{k: s["result"][k] for k in ("states", "transitions")}}
    except (ValueError, KeyError, TypeError):
        return None


def _signal(r: FaultResult, work: Path, baselines: dict) -> None:
    c = r.case
    out_dir, phase_file, cp = work / "out", work / "phases.txt", work / "cp"
    args = [*c.args, "--out", str(out_dir)]
    if c.json_out and "--json" not in args:
        args.append("--json")
    if c.junit:
        args += ["--junit", str(work / "junit.xml")]
    if c.checkpoint:
        args += ["--checkpoint", str(cp), "--checkpoint-every", "0"]
    env = {"GMPCHECK_PHASE_FILE": str(phase_file), "TMPDIR": str(work)}
    child = Child(args, cwd=work, limit_mb=LIMIT_MB, env=env)
    while c.phase and c.phase not in _phases(phase_file) and not child.wait(0.02):
        pass
    if child.wait(c.at):
        o = child.finish(1)
        r.hit = False
        if o.code != 0 or "Traceback" in o.err:
            r.problems.append(f"ended before the fault with exit {o.code}")
        return
    kids = descendants(child.pid)
    phases = _phases(phase_file)
    t = time.monotonic()
    if c.fault == "SIGINT":
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C reaches the whole group
    else:
        os.kill(child.pid, SIGNALS[c.fault])
    o = child.finish(300, kids)
    r.stop_s = child.ended - t if child.ended else None
    _common(r, o, out_dir, phases if c.args[0].startswith("-") else None)
    limit = 60.0 if c.checkpoint else stop_limit_s()
    if r.stop_s is not None and r.stop_s > limit:
        r.problems.append(f"took {r.stop_s:.2f} s to stop (limit {limit:.1f} s)")
    _lost_verdicts(r, o, phases)
    _lost_depths(r, o, phases)
    if c.checkpoint and o.code == 4 and phases:
        _resume(r, work, args, baselines)


def _resume(r: FaultResult, work: Path, args: list[str], baselines: dict) -> None:
    base = baselines.get(r.case.checkpoint)
    i = args.index("--checkpoint")
    again = [*args[:i], "--resume", args[i + 1], *args[i + 4 :]]
    t = time.monotonic()
    o = Child(again, cwd=work, limit_mb=LIMIT_MB).finish(900)
    r.resume_s = time.monotonic() - t
    got = _counts(o.out)
    if o.code == 2 or got is None:
        r.lost.append(f"the checkpoint does not resume (exit {o.code}): {o.err.strip()[-200:]}")
    elif base is not None and got != base:
        r.lost.append(f"resumed to {got}, the uninterrupted run gives {base}")


def _kill_worker(r: FaultResult, work: Path) -> None:
    c = r.case
    out_dir = work / "out"
    args = [*c.args, "--out", str(out_dir)]
    if c.junit:
        args += ["--junit", str(work / "junit.xml")]
    child = Child(args, cwd=work, limit_mb=LIMIT_MB)
    ended = child.wait(c.at)
    # On a loaded machine the workers may not exist yet at c.at: wait for them.
    deadline = time.monotonic() + 60
    while not ended and not (kids := descendants(child.pid)) and time.monotonic() < deadline:
        ended = child.wait(0.1)
    if ended:
        child.finish(1)
        r.hit = False
        r.problems.append("ended before a worker could be killed")
        return
    if not kids:
        child.kill_group()
        child.finish(10)
        r.problems.append("no worker process to kill")
        return
    victim = max(kids)
    t = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    o = child.finish(120, kids - {victim})
    r.stop_s = child.ended - t if child.ended else None
    _common(r, o, out_dir)
    if r.stop_s is not None and r.stop_s > 10 * stop_limit_s() / 2:
        r.problems.append(f"took {r.stop_s:.2f} s to end after the worker died")


def _full_disk(r: FaultResult, work: Path) -> None:
    c = r.case
    out_dir = work / "out"
    args = [*c.args, "--out", str(out_dir), *(["--json"] if c.json_out else [])]
    o = Child(args, cwd=work, limit_mb=LIMIT_MB, fsize=2048).finish(300)
    _common(r, o, out_dir)
    if not out_dir.is_dir() or not any(out_dir.rglob("*.itf.json")):
        if "write" not in o.err.lower() and "write_error" not in o.out:
            r.lost.append("the counterexample was neither written nor named as unwritten")


def _concurrent(r: FaultResult, work: Path) -> None:
    c = r.case
    out_dir = work / "out"
    n = 3 if c.name.startswith("three") else 2
    args = [*c.args, "--out", str(out_dir)]
    children = [Child(args, cwd=work, limit_mb=LIMIT_MB) for _ in range(n)]
    for o in [ch.finish(300) for ch in children]:
        _common(r, o, out_dir)
    if not list(out_dir.glob("*.itf.json")):
        r.lost.append("no counterexample written")


def run_fault(c: FaultCase, work: Path, baselines: dict) -> FaultResult:
    work.mkdir(parents=True)
    r = FaultResult(c)
    if c.fault in SIGNALS:
        _signal(r, work, baselines)
    elif c.fault == "kill-worker":
        _kill_worker(r, work)
    elif c.fault == "full-disk":
        _full_disk(r, work)
    else:
        _concurrent(r, work)
    return r


def baselines(cases: list[FaultCase], work: Path) -> dict:
    """The uninterrupted run of each checkpointed command: its exit code and counts."""
    out: dict = {}
    for cmd in {c.checkpoint for c in cases if c.checkpoint}:
        d = work / f"baseline{len(out)}"
        d.mkdir(parents=True)
        o = Child([*cmd, "--out", str(d / "out")], cwd=d, limit_mb=LIMIT_MB).finish(900)
        out[cmd] = _counts(o.out)
    return out


def stop_times(results: list[FaultResult]) -> dict:
    def stats(xs: list[float]) -> dict:
        if not xs:
            return {"n": 0}
        return {"n": len(xs), "median_s": statistics.median(xs), "max_s": max(xs)}

    plain = [r.stop_s for r in results if r.stop_s is not None and not r.case.checkpoint]
    cp = [r.stop_s for r in results if r.stop_s is not None and r.case.checkpoint]
    return {"without checkpoint": stats(plain), "with checkpoint": stats(cp)}
