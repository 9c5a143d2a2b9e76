"""Reading an execution trace for the conformance check: what of it is
checked, which threads, procs and goroutines it shows, and the limits of
what the model can be sized to (checker/golang/conform.py runs the check)."""

from __future__ import annotations

from dataclasses import dataclass, field

from checker.golang.gotrace import Event
from model.openworld import Snapshot
from model.state import NONE

SCHEMA = "gmpcheck.conform/1"
PROFILE = "go1.26"
MAX_PS = 8  # the model's steal masks are one byte
# Goroutines alive at once. Up to 255 the model's fields are bytes; beyond,
# two bytes each (model/state.py freeze_wide), and the check slows with the
# size of the state.
MAX_GS = 10_000
# A runtime step emits at most this many events (exitsyscall that steals
# its P back: ProcSteal, ProcStart, GoSyscallEndBlocked, GoStart).
MAX_GROUP = 4
GROUP_WINDOW = 64  # how far ahead (in events) the rest of a group may be
# How many nodes an event's closure hands on to the next event before the
# search moves on (it comes back for more only if the next events need them).
# Each node handed on brings its own closure at the next event: a few are
# cheaper than many, as long as they seldom all fail (docs/conformance.md).
BATCH = 4


# The tracer's own stop-the-world (runtime.StartTrace), at the trace's start.
START_TRACE_STW = "stop-the-world (start trace)"

# The Log event conform's wrapper emits when the program's main returns
# (checker/golang/gotool.py TRACE_MAIN): the check ends there.
END_MARK = 'Category="gmpcheck" Message="main returned"'


class ConformError(ValueError):
    """The trace cannot be checked (exit 2, one line)."""


def _package(func: str) -> str:
    slash = func.rfind("/")
    dot = func.find(".", slash + 1)
    return func[:dot] if dot > 0 else func


def _runtime_package(pkg: str) -> bool:
    return pkg in ("runtime", "testing") or pkg.startswith(("runtime/", "internal/"))


@dataclass
class Prepared:
    """A trace read for checking: the events, the model's size, where things
    were when it started, and where the checkable part ends."""

    events: list[Event]
    procs: int
    threads: list[int]  # trace M ids, in order of first appearance
    gslot: dict[int, int]  # goroutine id -> model G slot (those alive at the start)
    slots: int  # G slots: goroutines alive at once, at most
    snapshot: Snapshot
    mbind: tuple[int, ...]  # model actor -> trace M index (-1: unbound)
    pbind: tuple[int, ...]  # model P -> trace proc id (-1: unbound)
    program_gs: set[int]
    runtime_gs: set[int]
    end: int  # events[:end] are checked
    end_reason: str  # why the check stops before the last event ("" if it does not)


def _stops_checking(ev: Event) -> str:
    """Why this event ends the part of the trace the model can check, or ""."""
    if ev.kind == "RangeBegin":
        if ev.name.startswith("stop-the-world") and "trace)" not in ev.name:
            return f"a {ev.name} (the model has no stop-the-world)"
        if ev.name.startswith("GC "):
            return f"a garbage collection ({ev.name}; the model has no GC)"
    if ev.kind == "StateTransition" and ev.resource == "P" and "NotExist" in (ev.frm, ev.to):
        return f"proc {ev.id} made or destroyed (a GOMAXPROCS change; the model's Ps are fixed)"
    if ev.kind == "StateTransition" and ev.resource == "G":
        if ev.frm == "NotExist" and ev.to == "Syscall":
            return "a cgo callback into Go (GoCreateSyscall; the model has no cgo)"
        if ev.frm == "Syscall" and ev.to == "NotExist":
            return "a cgo callback returning (GoDestroySyscall; the model has no cgo)"
    return ""


def prepare(events: list[Event]) -> Prepared:
    seen = _first_sight(events)
    procs, first_g, created = seen.procs, seen.first_g, seen.created
    if procs < 1:
        raise ConformError("the trace shows no proc (P): nothing to check")
    if procs > MAX_PS:
        raise ConformError(f"the trace has GOMAXPROCS={procs}; the model holds at most {MAX_PS}")
    for ev in events[: seen.end]:
        if ev.p >= procs:  # a proc no status, transition or GOMAXPROCS metric made
            raise ConformError(f"line {ev.line}: P{ev.p} is not one of the trace's {procs} procs")
    # Goroutines alive at the start: every goroutine not created in the trace,
    # in the state of its first mention (nothing happened to it before).
    pre = sorted(g for g in first_g if g not in created)
    # Slots in order, skipping the one whose id is NONE (never used, in the
    # wide layout of a model with more than 255 goroutines).
    slots = (i for i in range(len(pre) + 1) if i != NONE)
    gslot = {g: next(slots) for g in pre}
    peak = _peak(events[: seen.end], len(pre))
    if peak > MAX_GS:
        raise ConformError(f"{peak} goroutines are alive at once; the model holds at most {MAX_GS}")
    snapshot, mbind, pbind = _start(seen, pre, gslot)
    program, runtime = _classify(events[: seen.end], first_g, created)
    return Prepared(
        events=events,
        procs=procs,
        threads=seen.threads,
        gslot=gslot,
        slots=max(peak, 1),
        snapshot=snapshot,
        mbind=mbind,
        pbind=pbind,
        program_gs=program,
        runtime_gs=runtime,
        end=seen.end,
        end_reason=seen.end_reason,
    )


@dataclass
class _Seen:
    """What one pass over the trace finds: its procs, each P's and each G's
    first event, the goroutines it creates, its threads, where its
    checkable part ends and why."""

    procs: int = -1
    first_p: dict[int, Event] = field(default_factory=dict)
    first_g: dict[int, Event] = field(default_factory=dict)
    created: set[int] = field(default_factory=set)
    threads: list[int] = field(default_factory=list)  # trace M ids, in order of first appearance
    end: int = 0
    end_reason: str = ""
    start_trace_m: int = -1  # the thread that ended the tracer's stop-the-world


def _first_sight(events: list[Event]) -> _Seen:
    seen = _Seen(end=len(events))
    seen_m: set[int] = set()
    if events and END_MARK not in "".join(e.text for e in events if e.kind == "Log"):
        if events[-1].kind != "Sync":
            # A whole dump ends with the tracer's closing Sync; one cut short
            # (a truncated file) is checked as far as it goes, and says so.
            seen.end_reason = "missing: the dump ends in the middle of the trace (truncated?)"
    for ev in events:
        if ev.kind == "Metric" and ev.name == "/sched/gomaxprocs:threads":
            seen.procs = max(seen.procs, ev.value)  # it may come after the first Ps' statuses
        if ev.kind == "Log" and END_MARK in ev.text:
            seen.end = ev.index  # the program's part ends; the tracer's shutdown is not checked
            break
        why = _stops_checking(ev)
        if why:
            seen.end, seen.end_reason = ev.index, why
            break
        if ev.kind == "RangeEnd" and ev.name == START_TRACE_STW and seen.start_trace_m < 0:
            seen.start_trace_m = ev.m
        if ev.m >= 0 and ev.m not in seen_m and ev.kind == "StateTransition":
            seen_m.add(ev.m)
            seen.threads.append(ev.m)
        if ev.kind != "StateTransition":
            continue
        if ev.resource == "P":
            seen.procs = max(seen.procs, ev.id + 1)
            seen.first_p.setdefault(ev.id, ev)
        else:
            if ev.id not in seen.first_g:
                seen.first_g[ev.id] = ev
                if ev.frm == "NotExist":
                    seen.created.add(ev.id)
    return seen


def _peak(events: list[Event], alive: int) -> int:
    """The most goroutines alive at once, `alive` at the start."""
    peak = alive
    for ev in events:
        if ev.kind == "StateTransition" and ev.resource == "G":
            if ev.frm == "NotExist":
                alive += 1
                peak = max(peak, alive)
            elif ev.to == "NotExist":
                alive -= 1
    return peak


def _start(
    seen: _Seen, pre: list[int], gslot: dict[int, int]
) -> tuple[Snapshot, tuple[int, ...], tuple[int, ...]]:
    """Where things were when the trace started (the goroutines alive then,
    in the state of their first event; the Ps running then), with the
    model's Ms and Ps bound to the trace's threads and procs."""
    procs, first_g = seen.procs, seen.first_g
    mindex = {m: i for i, m in enumerate(seen.threads)}
    nM = len(seen.threads) + 2
    running: dict[int, tuple[int, int]] = {}
    syscall: dict[int, tuple[int, int]] = {}
    looking: dict[int, int] = {}
    runnable, waiting = [], []
    mbind = [-1] * (nM + 1)
    pbind = [-1] * procs
    mslot: dict[int, int] = {}

    def slot_of_m(m: int) -> int:
        if m not in mslot:
            mslot[m] = len(mslot)
            mbind[mslot[m]] = mindex[m]
        return mslot[m]

    for g in pre:
        ev = first_g[g]
        st = ev.to
        if st == "Running":
            if ev.m < 0 or ev.p < 0:
                raise ConformError(f"line {ev.line}: G{g} runs on no thread or proc")
            running[gslot[g]] = (slot_of_m(ev.m), ev.p)
            pbind[ev.p] = ev.p
        elif st == "Syscall":
            if ev.m < 0:
                raise ConformError(f"line {ev.line}: G{g} is in a syscall on no thread")
            syscall[gslot[g]] = (slot_of_m(ev.m), ev.p if ev.p >= 0 else NONE)
            if ev.p >= 0:
                pbind[ev.p] = ev.p
        elif st == "Runnable":
            runnable.append(gslot[g])
        else:
            waiting.append(gslot[g])
    busy_ps = {p for _, p in running.values()} | {p for _, p in syscall.values()}
    idle_ps = []
    for p in range(procs):
        pev = seen.first_p.get(p)
        if pev is not None and pev.to == "Running" and p not in busy_ps:
            if pev.m < 0:
                raise ConformError(f"line {pev.line}: P{p} runs on no thread")
            looking[slot_of_m(pev.m)] = p
            pbind[p] = p
        elif p not in busy_ps:
            idle_ps.append(p)
    # The thread that ended the tracer's stop-the-world runs the goroutine
    # that started the trace, and calls wakep() next (Snapshot.wakep).
    wakep = NONE
    running_ms = {m for m, _ in running.values()}
    if seen.start_trace_m in mslot and mslot[seen.start_trace_m] in running_ms:
        wakep = mslot[seen.start_trace_m]
    snapshot = Snapshot(running, syscall, looking, runnable, waiting, idle_ps, wakep)
    return snapshot, tuple(mbind), tuple(pbind)


def _classify(
    events: list[Event], first: dict[int, Event], created: set[int]
) -> tuple[set[int], set[int]]:
    """The program's goroutines and the runtime's (runtime-internal, the
    tracer's, a test harness's). The program's: the main goroutine (G1) and
    goroutines whose function is in package main, or that code in package
    main created through a library (sync.WaitGroup.Go, time.AfterFunc)."""
    program: set[int] = set()
    runtime: set[int] = set()
    for g, ev in first.items():
        if g not in created:
            (program if g == 1 else runtime).add(g)
            continue
        start = _package(ev.transition_stack[0]) if ev.transition_stack else ""
        by_main = any(_package(f) == "main" for f in ev.stack)
        if start == "main" or (not _runtime_package(start) and by_main):
            program.add(g)
        else:
            runtime.add(g)
    return program, runtime
