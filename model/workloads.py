"""Workloads: the programs the model's goroutines run.

A workload is a named set of programs over a small instruction set, one of
which the main goroutine runs. Each instruction is one step of user code as
the scheduler sees it:

    compute         user code that reaches a cooperative safe point (a call:
                    the function prologue checks stackguard0, so a pending
                    preemption request is honoured here)
    spin            one iteration of a loop with no cooperative safe point
                    (no calls); it loops on itself forever and only an
                    asynchronous preemption (a signal) can stop it
    go PROG         `go f()`: newproc, the child runs PROG
    gosched         runtime.Gosched()
    yield           the runtime's goyield: back to the own ring's tail (as
                    sync.Mutex's starvation-mode hand-off does)
    park SEM        block on semaphore SEM (gopark), unless a wakeup is pending
    ready SEM       wake one goroutine parked on SEM (goready), or leave a
                    pending wakeup when none waits
    syscall         a system call (entersyscall ... exitsyscall); how long it
                    lasts is up to the interleaving
    syscall-block   a system call known to block (entersyscallblock)
    lock            runtime.LockOSThread(): the goroutine runs only on this
                    M, and the M runs nothing else, until `unlock`
    unlock          runtime.UnlockOSThread()
    exit            the goroutine returns (goexit); a goroutine that exits
                    locked takes its thread with it (mexit)
    goto LABEL      jump; takes no step
    LABEL:          names the next instruction

A preemption request is honoured at the next instruction that is a call
(all but `spin` and `exit`), or by a signal. A program that runs off its
end exits. Semaphores are binary: `ready` on a
semaphore nobody waits on stores one pending wakeup, a second is dropped, the
way a one-slot buffered channel would drop a non-blocking send.

Workloads are data: `--workload NAME` picks a shipped one; the plug-in point
(`--model FILE:NAME`) can hand the checker a Workload of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from model.errors import ConfigError


class Op(IntEnum):
    COMPUTE = 0
    SPIN = 1
    GO = 2
    GOSCHED = 3
    PARK = 4
    READY = 5
    SYSCALL = 6
    SYSCALL_BLOCK = 7
    EXIT = 8
    YIELD = 9
    LOCK = 10
    UNLOCK = 11


_OPS = {
    "compute": Op.COMPUTE,
    "spin": Op.SPIN,
    "go": Op.GO,
    "gosched": Op.GOSCHED,
    "park": Op.PARK,
    "ready": Op.READY,
    "syscall": Op.SYSCALL,
    "syscall-block": Op.SYSCALL_BLOCK,
    "exit": Op.EXIT,
    "yield": Op.YIELD,
    "lock": Op.LOCK,
    "unlock": Op.UNLOCK,
}
_WITH_ARG = {Op.GO, Op.PARK, Op.READY}


class WorkloadError(ValueError):
    """A workload that does not compile (unknown instruction, label or program)."""


@dataclass(frozen=True)
class Workload:
    """A named set of programs; `main` is the program of the initial goroutine.

    `start` puts the scheduler in a warm state: the first goroutine runs
    `main` on P0 and the others run their programs on P1, P2, ... (one M
    each); those that find no P wait in the global run queue. Empty: only
    main, on P0, as a program starts.

    `max_gs` bounds how many goroutines may be alive at once (the model's G
    slots); spawning beyond it is reported as a truncated search, never
    silently dropped.
    """

    def start_programs(self) -> list[str]:
        return [self.main, *self.start]

    name: str
    description: str
    programs: dict[str, list[str]]
    main: str = "main"
    start: tuple[str, ...] = ()  # programs already running at the start (see below)
    max_gs: int = 0  # 0: the number of `go` instructions + goroutines at the start
    history: str = ""  # the Go issue or change this workload reproduces, if any

    def compile(self) -> Code:
        return Code.build(self)


@dataclass
class Code:
    """A workload compiled to one flat instruction array.

    `ops[pc]`, `args[pc]`: the instruction at pc (with `goto`s resolved away).
    `nextpc[pc]`: where control goes after the instruction at pc.
    `entry[prog]`: the first pc of a program. `prog_of[pc]`: its program.
    """

    workload: Workload
    ops: list[int] = field(default_factory=list)
    args: list[int] = field(default_factory=list)
    nextpc: list[int] = field(default_factory=list)
    prog_of: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    entry: list[int] = field(default_factory=list)
    prog_names: list[str] = field(default_factory=list)
    sema_names: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    max_gs: int = 0

    @staticmethod
    def build(w: Workload) -> Code:
        for prog in w.start_programs():
            if prog not in w.programs:
                raise WorkloadError(f"workload {w.name!r}: no program named {prog!r}")
        c = Code(workload=w)
        c.prog_names = [w.main] + sorted(p for p in w.programs if p != w.main)
        prog_index = {n: i for i, n in enumerate(c.prog_names)}
        sema_index: dict[str, int] = {}
        n_go = 0
        # Lay out each program's instructions; gotos are resolved below.
        for pi, pname in enumerate(c.prog_names):
            labels: dict[str, int] = {}
            gotos: list[tuple[int, str]] = []  # (index in this program, label)
            body: list[tuple[Op | None, int, str]] = []
            for raw in w.programs[pname]:
                line = raw.strip()
                while ":" in line.split(" ")[0]:
                    label, _, line = line.partition(":")
                    labels[label.strip()] = len(body)
                    line = line.strip()
                if not line:
                    continue
                word, _, rest = line.partition(" ")
                rest = rest.strip()
                if word == "goto":
                    if not rest:
                        raise WorkloadError(f"{w.name}/{pname}: goto needs a label")
                    gotos.append((len(body), rest))
                    body.append((None, 0, line))
                    continue
                if word not in _OPS:
                    raise WorkloadError(f"{w.name}/{pname}: unknown instruction {word!r}")
                op = _OPS[word]
                arg = 0
                if op in _WITH_ARG:
                    if not rest:
                        raise WorkloadError(f"{w.name}/{pname}: {word} needs an argument")
                    if op is Op.GO:
                        if rest not in prog_index:
                            raise WorkloadError(f"{w.name}/{pname}: go of unknown program {rest!r}")
                        arg = prog_index[rest]
                        n_go += 1
                    else:
                        arg = sema_index.setdefault(rest, len(sema_index))
                elif rest:
                    raise WorkloadError(f"{w.name}/{pname}: {word} takes no argument")
                body.append((op, arg, line))
            body.append((Op.EXIT, 0, "exit (end of program)"))
            base = len(c.ops)
            c.entry.append(base)
            for code, arg, line in body:
                c.ops.append(-1 if code is None else int(code))
                c.args.append(arg)
                c.prog_of.append(pi)
                c.text.append(line)
            for i, label in gotos:
                if label not in labels:
                    raise WorkloadError(f"{w.name}/{pname}: goto unknown label {label!r}")
                c.args[base + i] = base + labels[label]
        # Resolve control flow: the successor of each instruction, skipping gotos.
        n = len(c.ops)

        def resolve(pc: int) -> int:
            seen = set()
            while c.ops[pc] == -1:
                if pc in seen:
                    raise WorkloadError(f"{w.name}: a goto loop with no instruction in it")
                seen.add(pc)
                pc = c.args[pc]
            return pc

        c.nextpc = [0] * n
        for pc in range(n):
            if c.ops[pc] == -1:
                continue
            if c.ops[pc] == Op.SPIN:
                c.nextpc[pc] = pc  # a loop with no safe point never leaves by itself
            elif c.ops[pc] == Op.EXIT:
                c.nextpc[pc] = pc
            else:
                c.nextpc[pc] = resolve(pc + 1)
        c.entry = [resolve(e) for e in c.entry]
        c.sema_names = list(sema_index)
        c.starts = [prog_index[p] for p in w.start_programs()]
        c.max_gs = w.max_gs or (n_go + len(c.starts))
        if c.max_gs < len(c.starts):
            raise WorkloadError(f"workload {w.name!r}: max_gs below the goroutines at the start")
        if n > 250 or c.max_gs > 250 or len(c.sema_names) > 250:
            raise WorkloadError(f"workload {w.name!r} is too large for the state encoding")
        return c

    def describe(self, pc: int) -> str:
        return f"{self.prog_names[self.prog_of[pc]]}:{self.text[pc]}"


def _w(
    name: str,
    description: str,
    history: str = "",
    max_gs: int = 0,
    start: tuple[str, ...] = (),
    **programs: list[str],
) -> Workload:
    return Workload(
        name=name,
        description=description,
        programs={k.replace("_", "-"): v for k, v in programs.items()},
        start=start,
        history=history,
        max_gs=max_gs,
    )


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        _w(
            "mixed",
            "a warm start with every P busy: main spawns a child and trades wakeups with a "
            "partner through two semaphores, a third goroutine makes a system call and "
            "yields with Gosched, a fourth exits at once and sends its M looking for work; "
            "every goroutine ends.",
            start=("partner", "sys", "quick"),
            main=["go child", "ready ping", "park pong", "exit"],
            partner=["park ping", "ready pong", "exit"],
            sys=["syscall", "gosched", "exit"],
            quick=["exit"],
            child=["compute", "exit"],
        ),
        _w(
            "spawn-burst",
            "main spawns three short goroutines in a row: runnext kicks, the ring filling up, "
            "stealing, spinning Ms re-checking the queues; every goroutine ends. (Three fit "
            "in runnext and a ring of 2: spawn-overflow overflows it.)",
            main=["go worker", "go worker", "go worker", "exit"],
            worker=["compute", "exit"],
        ),
        _w(
            "spawn-overflow",
            "main spawns six short goroutines in a row on its P: the ring overflows into the "
            "global queue (runqputslow moves half the ring and the kicked-out G), and with a "
            "ring of 4 findRunnable takes a batch of two from the global queue "
            "(globrunqgetbatch, then runqputbatch onto its ring); every goroutine ends.",
            main=["go worker", "go worker", "go worker", "go worker", "go worker", "go worker"],
            worker=["compute", "exit"],
        ),
        _w(
            "syscall-heavy",
            "two goroutines make system calls, one of them a blocking one (entersyscallblock); "
            "exercises exitsyscall's fast and slow paths, sysmon's retake and handoffp.",
            main=["go sys", "syscall", "compute", "exit"],
            sys=["syscall-block", "syscall", "exit"],
        ),
        _w(
            "tight-loop",
            "main spawns a victim and then a goroutine that loops with no cooperative safe "
            "point; the looper takes runnext and the victim waits in the ring behind it: "
            "only asynchronous preemption frees the P.",
            history="golang/go#10958 (tight loops should be preemptible); Go 1.14 added "
            "signal-based asynchronous preemption",
            main=["go victim", "go spinner", "exit"],
            victim=["compute", "exit"],
            spinner=["spin"],
        ),
        _w(
            "gosched-starve",
            "main yields with Gosched in a loop on one P while another P runs a goroutine "
            "that spawned a victim and then loops with no safe point; a third P is idle. "
            "Spinning Ms must steal the victim.",
            history="golang/go#13546 (goroutine starvation due to Gosched); why Gosched "
            "uses the global queue: golang/go#20168",
            start=("hog",),
            main=["loop: gosched", "goto loop"],
            hog=["go victim", "spin"],
            victim=["compute", "exit"],
        ),
        _w(
            "yield-pair",
            "two goroutines hand the P back and forth through the local ring (goyield) while "
            "main yields to the global queue with Gosched and waits its turn there.",
            history="findRunnable's schedtick%61 check: 'Otherwise two goroutines can "
            "completely occupy the local runqueue by constantly respawning each other'",
            main=["go yielder", "go yielder", "loop: gosched", "compute", "goto loop"],
            yielder=["loop: yield", "goto loop"],
        ),
        _w(
            "pingpong-hog",
            "a pair that readies each other forever shares a P with a CPU hog and a waiting "
            "goroutine; runnext with time-slice inheritance keeps the pair's time slice bounded.",
            history="CL 9289 (Go 1.5, 'runtime: yield time slice to most recently readied G'): "
            "runnext and BenchmarkPingPongHog",
            main=["go hog", "go ponger", "loop: ready ping", "park pong", "goto loop"],
            ponger=["loop: park ping", "ready pong", "goto loop"],
            hog=["loop: compute", "goto loop"],
        ),
        _w(
            "locked-thread",
            "main locks itself to its thread (LockOSThread), spawns a helper and blocks: its "
            "M hands the P off and waits (stoplockedm); the M that runs the helper finds main "
            "readied and hands main and its P back to main's M (startlockedm). The helper "
            "locks itself too and exits locked, which ends its thread (mexit).",
            history="proc.go LockOSThread, startlockedm, stoplockedm, goexit0's mexit",
            main=["lock", "go helper", "park done", "unlock", "exit"],
            helper=["lock", "ready done", "exit"],
        ),
        _w(
            "spawn-chain",
            "each goroutine spawns the next and exits, while another goroutine waits in the "
            "local run queue.",
            history="golang/go#52934 (new goroutine launches can starve other work)",
            max_gs=4,
            main=["go victim", "go link", "exit"],
            link=["go link", "exit"],
            victim=["compute", "exit"],
        ),
    ]
}

DEFAULT_WORKLOAD = "mixed"


class NamesWorkload(Protocol):
    """What workload_for reads of a Config (model/config.py, which imports
    this module)."""

    @property
    def workload(self) -> str: ...


def workload_for(cfg: NamesWorkload) -> Workload:
    """The workload a Config names (`--workload`); an unknown name is a
    ConfigError, one line."""
    if cfg.workload not in WORKLOADS:
        known = ", ".join(sorted(WORKLOADS))
        raise ConfigError(f"unknown workload {cfg.workload!r} (known: {known})")
    return WORKLOADS[cfg.workload]
