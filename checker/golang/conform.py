"""Conformance of real executions: does the model explain a Go execution trace?

The check is a search over the model's paths constrained by the trace
(trace validation in the manner of Cirstea, Kuppe, Loillier and Merz,
"Validating Traces of Distributed Programs Against TLA+ Specifications",
2024). The model is the open world (model/openworld.py) of the go1.26
profile, sized to the trace: its Ps, the threads it shows, and as many
goroutine slots as goroutines are alive at once.

    frontier := the states the trace's first statuses describe
    for each event e of the trace:
        closure  := every state reachable from the frontier by unobserved
                    steps (steps that leave the projection unchanged)
        frontier := the states reached from the closure by one observed step
                    that does what e (with later events of its thread that
                    the same runtime step emits) says
        if the frontier is empty: e is the first event the model cannot
                    explain; the closure is what was possible just before it

A search node is a model state plus two bindings: which trace thread each
model M stands for (an M is bound when it first does something the trace
shows, and unbound when it parks: parked Ms are interchangeable), and
which trace proc each model P is (Ps idle since the trace started are
interchangeable until one is used). Goroutines are bound by the trace's
ids: the model's newproc takes the lowest free slot, the same in every
node, since creations and exits are all observed.

checker/golang/projection.py says what is observed; docs/conformance.md maps every
trace event to the model steps that explain it and documents what the
model abstracts (time, runtime-internal goroutines, timers, the GC).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from checker.files import write_atomically
from checker.golang.gotool import GoToolError, Toolchain, build, find_toolchain, parsed_dump, run
from checker.golang.gotrace import (
    Event,
    binary_format,
    check_format,
    parse_dump,
    read_trace_file,
)
from checker.golang.projection import G_NAMES, P_NAMES, TRACE_G, TRACE_P, Projection
from checker.views.report import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_SAFETY
from model.openworld import Expect, Snapshot, open_model
from model.pcs import PC, PC_NAMES
from model.state import NONE, q_items
from model.symmetry import Symmetry

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
BATCH = 64


@dataclass
class _EventSearch:
    """One event's part of the search: every node seen before it (those that
    reached it, depth 0, and its closure, with the number of unobserved steps
    from them), the ones not expanded yet, in breadth-first order."""

    seen: dict = field(default_factory=dict)
    todo: deque = field(default_factory=deque)
    expect: Expect | None = None
    arrived: int = 0
    truncated: bool = False


# The Log event conform's wrapper emits when the program's main returns
# (checker/golang/gotool.py TRACE_MAIN): the check ends there.
END_MARK = 'Category="gmpcheck" Message="main returned"'


class ConformError(ValueError):
    """The trace cannot be checked (exit 2, one line)."""


# ---- reading the trace: sizes, first statuses, whose goroutines ------------------


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
    if ev.kind == "StateTransition" and ev.resource == "G":
        if ev.frm == "NotExist" and ev.to == "Syscall":
            return "a cgo callback into Go (GoCreateSyscall; the model has no cgo)"
        if ev.frm == "Syscall" and ev.to == "NotExist":
            return "a cgo callback returning (GoDestroySyscall; the model has no cgo)"
    return ""


def prepare(events: list[Event]) -> Prepared:
    procs = -1
    first_p: dict[int, Event] = {}
    first_g: dict[int, Event] = {}
    created: set[int] = set()
    threads: list[int] = []
    seen_m: set[int] = set()
    end, end_reason = len(events), ""
    if events and END_MARK not in "".join(e.text for e in events if e.kind == "Log"):
        if events[-1].kind != "Sync":
            # A whole dump ends with the tracer's closing Sync; one cut short
            # (a truncated file) is checked as far as it goes, and says so.
            end_reason = "missing: the dump ends in the middle of the trace (truncated?)"
    for ev in events:
        if ev.kind == "Metric" and ev.name == "/sched/gomaxprocs:threads":
            procs = max(procs, ev.value)  # it may come after the first Ps' statuses
        if ev.kind == "Log" and END_MARK in ev.text:
            end = ev.index  # the program's part ends; the tracer's shutdown is not checked
            break
        why = _stops_checking(ev)
        if why:
            end, end_reason = ev.index, why
            break
        if ev.m >= 0 and ev.m not in seen_m and ev.kind == "StateTransition":
            seen_m.add(ev.m)
            threads.append(ev.m)
        if ev.kind != "StateTransition":
            continue
        if ev.resource == "P":
            procs = max(procs, ev.id + 1)
            first_p.setdefault(ev.id, ev)
        else:
            if ev.id not in first_g:
                first_g[ev.id] = ev
                if ev.frm == "NotExist":
                    created.add(ev.id)
    if procs < 1:
        raise ConformError("the trace shows no proc (P): nothing to check")
    if procs > MAX_PS:
        raise ConformError(f"the trace has GOMAXPROCS={procs}; the model holds at most {MAX_PS}")
    # Goroutines alive at the start: every goroutine not created in the trace,
    # in the state of its first mention (nothing happened to it before).
    pre = sorted(g for g in first_g if g not in created)
    # Slots in order, skipping the one whose id is NONE (never used, in the
    # wide layout of a model with more than 255 goroutines).
    slots = (i for i in range(len(pre) + 1) if i != NONE)
    gslot = {g: next(slots) for g in pre}
    alive = peak = len(pre)
    for ev in events[:end]:
        if ev.kind == "StateTransition" and ev.resource == "G":
            if ev.frm == "NotExist":
                alive += 1
                peak = max(peak, alive)
            elif ev.to == "NotExist":
                alive -= 1
    if peak > MAX_GS:
        raise ConformError(f"{peak} goroutines are alive at once; the model holds at most {MAX_GS}")
    mindex = {m: i for i, m in enumerate(threads)}
    nM = len(threads) + 2
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
        ev = first_p.get(p)
        if ev is not None and ev.to == "Running" and p not in busy_ps:
            if ev.m < 0:
                raise ConformError(f"line {ev.line}: P{p} runs on no thread")
            looking[slot_of_m(ev.m)] = p
            pbind[p] = p
        elif p not in busy_ps:
            idle_ps.append(p)
    program, runtime = _classify(events[:end], first_g, created)
    return Prepared(
        events=events,
        procs=procs,
        threads=threads,
        gslot=gslot,
        slots=max(peak, 1),
        snapshot=Snapshot(running, syscall, looking, runnable, waiting, idle_ps),
        mbind=tuple(mbind),
        pbind=tuple(pbind),
        program_gs=program,
        runtime_gs=runtime,
        end=end,
        end_reason=end_reason,
    )


def _classify(
    events: list[Event], first: dict[int, Event], created: set[int]
) -> tuple[set[int], set[int]]:
    """The program's goroutines and the runtime's (runtime-internal, the
    tracer's, a test harness's). The program's: the main goroutine (G1) and
    goroutines whose function is in package main, or that code in package
    main created through a library (sync.WaitGroup.Go, time.AfterFunc)."""
    program, runtime = set(), set()
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


# ---- matching events against steps --------------------------------------------------


def expect_for(ev: Event, slot: int) -> Expect:
    """The user and environment steps an event can be (model/openworld.py)."""
    if ev.resource == "P":
        if ev.frm == "Idle" and ev.to == "Running":
            return Expect(env=frozenset({"netpoll", "allocm", "sysmon-startm"}))
        if ev.p != ev.id:  # ProcSteal: the P is taken by a thread that does not hold it
            return Expect(env=frozenset({"foreachp"}))
        return Expect()
    frm, to = ev.frm, ev.to
    if frm == "NotExist":
        return Expect(user=frozenset({"go-blocked" if to == "Waiting" else "go"}))
    if frm == "Running":
        if to == "Runnable":
            if ev.reason == "runtime.Gosched":
                return Expect(user=frozenset({"gosched"}))
            return Expect(user=frozenset({"preempt", "goyield"}), preempt=slot)
        if to == "Waiting":
            return Expect(user=frozenset({"park"}))
        if to == "Syscall":
            return Expect(user=frozenset({"syscall", "syscall-block"}))
        if to == "NotExist":
            return Expect(user=frozenset({"exit"}))
    if frm == "Waiting" and to == "Runnable":
        if ev.g >= 0:
            return Expect(user=frozenset({"ready"}), target=slot)
        if ev.p >= 0:
            return Expect(env=frozenset({"timer", "gcworker"}), target=slot)
        return Expect(env=frozenset({"inject"}), target=slot)
    if frm == "Runnable" and to == "Running":
        return Expect(limbo=slot)
    return Expect()


Node = tuple[bytes, tuple[int, ...], tuple[int, ...], frozenset[int]]


@dataclass
class Failure:
    event: Event
    index: int  # among the checked events
    before: list[Node]  # the closure: states possible just before the event
    truncated: bool  # the closure was cut at --max-states


@dataclass
class Result:
    verdict: str  # "conforms", "fails", "partial", "limit"
    checked: int  # events checked
    transitions: int  # state-transition events among them
    elapsed: float
    failure: Failure | None = None
    reason: str = ""
    peak_frontier: int = 0
    peak_closure: int = 0
    expansions: int = 0
    stats: dict = field(default_factory=dict)


class Search:
    def __init__(self, prep: Prepared, max_states: int = 200_000, model_class: type | None = None):
        self.prep = prep
        self.model = open_model(
            PROFILE, prep.procs, len(prep.threads) + 2, prep.slots, model_class=model_class
        )
        self.proj = Projection(self.model)
        self.max_states = max_states
        self.gslot = dict(prep.gslot)
        self.mindex = {m: i for i, m in enumerate(prep.threads)}
        L = self.model.L
        self.SYSMON = L.SYSMON
        self._pc_off = L.pc
        self.parked = int(PC.PARKED)
        # An M whose thread the trace no longer follows: parked (parked Ms
        # are interchangeable) or gone (mexit).
        self._gone = (int(PC.PARKED), int(PC.NOT_CREATED))
        self._alpha: dict[bytes, tuple[int, ...]] = {}
        self.expansions = 0
        self.peak_closure = 0
        # progress(event index, events): told every few events (a progress line)
        self.progress: Callable[[int, int], None] | None = None
        self._sym = Symmetry(L)
        self._ids_p, self._ids_g = list(range(L.nP)), list(range(L.nG))
        self._ids_m = list(range(L.nM))
        self._m_blocks = [(L.pc[a], L.pc[a] + L.A_WIDTH) for a in range(L.nM)]
        self._canon: dict[tuple, tuple[bytes, tuple[int, ...]]] = {}
        self.view = self.model.view

    def canon(self, t: bytes, mb: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:
        """The node's state and M bindings with the model's Ms renamed into a
        canonical order: Ms bound to a trace thread by that thread, then the
        unbound ones by their block and their place on the idle list. Model
        M ids mean nothing (no step names a particular M; newm takes any
        free slot, the idle list is ordered by position), so two nodes that
        differ by a renaming of Ms, bindings renamed alike, have the same
        futures; unbound Ms with equal blocks that nothing names are
        interchangeable, in any order."""
        key = (t, mb)
        got = self._canon.get(key)
        if got is None:
            if len(self._canon) > 500_000:
                self._canon.clear()
            got = self._canon[key] = self._canonical(t, mb)
        return got

    def _canonical(self, t: bytes, mb: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:
        L = self.model.L
        nM = L.nM
        blocks = self._m_blocks
        v = self.view(t)
        wide = L.wide
        midle = list(v[L.midle : L.midle + nM])

        def key(a: int) -> bytes:
            lo, hi = blocks[a]
            seg = v[lo:hi].tobytes() if wide else v[lo:hi]
            return seg + bytes((midle.index(a) if a in midle else 255,))

        # The usual case: already in order (bound Ms by thread, then the
        # unbound ones by key), checked without building every key.
        prev, first_unbound = -1, nM
        for a in range(nM):
            x = mb[a]
            if x < 0:
                if first_unbound == nM:
                    first_unbound = a
            elif first_unbound < nM or x < prev:
                break
            else:
                prev = x
        else:
            last = b""
            for a in range(first_unbound, nM):
                k = key(a)
                if k < last:
                    break
                last = k
            else:
                return t, mb
        keys = [(x, b"") if x >= 0 else (1 << 20, key(a)) for a, x in enumerate(mb[:nM])]
        order = sorted(self._ids_m, key=keys.__getitem__)
        if order == self._ids_m:
            return t, mb
        u = self._rename(t, self._ids_p, order)
        return u, tuple(mb[a] for a in order) + mb[nM:]

    def _rename(self, t: bytes, porder: list[int], morder: list[int]) -> bytes:
        if not self.model.L.wide:
            return self._sym.rename(t, porder, morder, self._ids_g)
        fields = self._sym.rename_fields(self.view(t), porder, morder, self._ids_g)
        return self.model.freeze(fields)

    def canon_p(self, t: bytes, pb: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:
        """The state with the model's Ps renamed so that those bound to a
        trace proc come first, in the order of the trace's proc ids (allp's
        order, which checkRunqsNoP walks: model/openworld.py), the unbound
        ones after them in their order. Like M ids, model P ids mean
        nothing: no step names a particular P."""
        order = sorted(self._ids_p, key=lambda q: (pb[q] < 0, pb[q], q))
        if order == self._ids_p:
            return t, pb
        u = self._rename(t, order, self._ids_m)
        return u, tuple(pb[q] for q in order)

    def alpha(self, t: bytes) -> tuple[int, ...]:
        a = self._alpha.get(t)
        if a is None:
            if len(self._alpha) > 500_000:
                self._alpha.clear()
            a = self._alpha[t] = self.proj.alpha(t)
        return a

    def initial(self) -> list[Node]:
        """The states the trace's start allows (model/openworld.py initial_states)."""
        out: dict[Node, None] = {}
        for t in self.model.initial_states(self.prep.snapshot):
            u, pb = self.canon_p(t, self.prep.pbind)
            u, mb = self.canon(u, self.prep.mbind)
            out[(u, mb, pb, frozenset())] = None
        return list(out)

    # -- one event ----------------------------------------------------------------

    def _slot(self, ev: Event) -> int:
        if ev.resource == "G":
            return self.gslot.get(ev.id, NONE)
        return NONE

    def assertion(self, node: Node, ev: Event) -> Node | None:
        """A status event (Undetermined -> X): the node survives if its
        projection agrees, binding an M or P the event names for the first time."""
        t, mb, pb, ahead = node
        al = self.alpha(t)
        proj = self.proj
        x = self.mindex.get(ev.m, -1)
        if ev.resource == "G":
            g = self.gslot[ev.id]
            st, m = al[proj.g_at(g)], al[proj.gm_at(g)]
            if st != TRACE_G[ev.to]:
                return None
            # (A G the projection shows running with no M, in a trace with an
            # event missing, binds nothing.)
            if st in (2, 3) and x >= 0 and m < self.model.L.nM:
                if mb[m] == -1:
                    if x in mb:
                        return None
                    mb = mb[:m] + (x,) + mb[m + 1 :]
                elif mb[m] != x:
                    return None
            return (t, mb, pb, ahead)
        want = TRACE_P[ev.to]
        if ev.id in pb:
            q = pb.index(ev.id)
            if al[proj.p_at(q)] != want:
                return None
            owner = al[proj.p_at(q) + 1]
            if want == 1 and x >= 0 and mb[owner] not in (-1, x):
                return None
            return (t, mb, pb, ahead)
        # A P the trace names for the first time has been idle since the start,
        # and unbound idle Ps are interchangeable: it is bound when first used.
        for q in range(self.prep.procs):
            if pb[q] == -1 and al[proj.p_at(q)] == want == 0:
                return node
        return None

    def _may_lock(self, i: int) -> bool:
        """May the G that event i stops be locked to its thread? Only if the
        thread's next events are what a locked M does: it hands its P off
        (ProcStop) and then either runs nothing but that G again (ProcStart,
        then the G's GoStart: startlockedm gave them back) or, when the G
        exits, is never seen again (mexit). Anything else the thread does
        rules the lock out."""
        events, end = self.prep.events, self.prep.end
        ev = events[i]
        if ev.resource != "G" or ev.frm != "Running" or ev.to == "Syscall":
            return False
        later = (
            e
            for e in events[i + 1 : end]
            if e.kind == "StateTransition" and e.m == ev.m and e.frm != "Undetermined"
        )
        stop = next(later, None)
        if stop is None:
            return True
        if not (stop.resource == "P" and stop.frm == "Running" and stop.to == "Idle"):
            return False
        while True:
            start = next(later, None)
            if start is None:
                return True
            if ev.to == "NotExist":
                return False  # mexit: the thread is gone
            if not (start.resource == "P" and start.frm == "Idle" and start.to == "Running"):
                return False
            run = next(later, None)
            if run is None:
                return True
            if run.resource == "P" and run.id == start.id and run.to == "Idle":
                continue  # its handoffp's startm made a thread: allocm borrowed the P
            if not (run.resource == "G" and run.id == ev.id and run.to == "Running"):
                return False
            # startlockedm hands over a G that was runnable already (readied
            # by another thread); a G this thread's own timer readies after
            # it took a P is not one.
            return ev.to == "Runnable" or any(
                e.kind == "StateTransition"
                and e.resource == "G"
                and e.id == ev.id
                and e.to == "Runnable"
                for e in events[i + 1 : start.index]
            )

    def _group(self, i: int) -> list[int]:
        """Later events of event i's thread that the same runtime step may
        also have emitted: the next transitions of the same M, up to
        MAX_GROUP in all, skipping events of other threads that touch none
        of them. One step changes the status of at most one goroutine, and
        never starts one and stops it again: a group names at most one G,
        and once it has that G enter Running it ends before the G leaves it
        (exitsyscall that steals its P back: ProcSteal, ProcStart,
        Syscall->Runnable, Runnable->Running; entersyscallblock: the
        syscall, then ProcStop)."""
        events, end = self.prep.events, self.prep.end
        ev = events[i]
        out: list[int] = []
        touched: set[tuple[str, int]] = set()
        g = ev.id if ev.resource == "G" else -1
        started = ev.resource == "G" and ev.to == "Running"
        for j in range(i + 1, min(end, i + GROUP_WINDOW)):
            e = events[j]
            if e.kind != "StateTransition":
                continue
            if e.m == ev.m and e.frm != "Undetermined":
                if (e.resource, e.id) in touched:
                    break
                if e.resource == "G":
                    if g not in (-1, e.id) or (started and e.frm == "Running"):
                        break
                    g = e.id
                    started = started or e.to == "Running"
                out.append(j)
                if len(out) == MAX_GROUP - 1:
                    break
            else:
                touched.add((e.resource, e.id))
        return out

    def _apply(
        self, al: list[int], ev: Event, a: int, pb: list[int], changed_ps: list[int], newg: dict
    ) -> bool:
        """Apply one event to a projection (in model slots) as actor a would
        do it; False if the projection does not allow it."""
        proj = self.proj
        if ev.resource == "G":
            g = self.gslot.get(ev.id, newg.get(ev.id, NONE))
            if g == NONE:
                if ev.frm != "NotExist":
                    return False
                g = next((x for x in range(proj.nG) if al[x] == 0 and x != NONE), NONE)
                if g == NONE:
                    return False
                newg[ev.id] = g
            i = proj.g_at(g)
            if al[i] != TRACE_G[ev.frm]:
                return False
            to = TRACE_G[ev.to]
            al[i] = to
            al[proj.gm_at(g)] = a if to in (2, 3) else NONE
            return True
        if ev.id in pb:
            q = pb.index(ev.id)
        else:
            free = [q for q in changed_ps if pb[q] == -1]
            if not free:
                return False
            q = free[0]
            pb[q] = ev.id
        i = proj.p_at(q)
        if al[i] != TRACE_P[ev.frm]:
            return False
        to = TRACE_P[ev.to]
        al[i] = to
        al[i + 1] = a if to == 1 else NONE
        return True

    def _context_ok(self, al: tuple[int, ...], ev: Event, a: int, pb: tuple[int, ...]) -> bool:
        """The event's thread holds the event's P and runs the event's G."""
        proj = self.proj
        if ev.p >= 0 and ev.p in pb:
            q = pb.index(ev.p)
            if al[proj.p_at(q) + 1] != a:
                return False
        if ev.g >= 0:
            g = self.gslot.get(ev.g, NONE)
            if g == NONE or al[proj.gm_at(g)] != a:
                return False
        return True

    def match(
        self, node: Node, al_s: tuple[int, ...], a: int, u: bytes, i: int
    ) -> tuple[Node, dict] | None:
        """Is the step of actor a from node's state to u what event i (and
        perhaps later events of its thread) shows? The node reached, and the
        goroutine slots the events created."""
        t, mb, pb, ahead = node
        ev = self.prep.events[i]
        x = self.mindex.get(ev.m, -1)
        if x >= 0:
            if mb[a] != x and (mb[a] != -1 or x in mb):
                return None
        if not self._context_ok(al_s, ev, a, pb):
            return None
        al_u = self.alpha(u)
        proj = self.proj
        base = 2 * proj.nG
        changed_ps = [
            (k - base) // 2
            for k in range(base, len(al_s), 2)
            if al_s[k] != al_u[k] or al_s[k + 1] != al_u[k + 1]
        ]
        exp = list(al_s)
        pbl = list(pb)
        newg: dict[int, int] = {}
        if not self._apply(exp, ev, a, pbl, changed_ps, newg):
            return None
        consumed: list[int] = []
        if tuple(exp) != al_u:
            for j in self._group(i):
                if j in ahead:
                    break
                if not self._apply(exp, self.prep.events[j], a, pbl, changed_ps, newg):
                    return None
                consumed.append(j)
                if tuple(exp) == al_u:
                    break
            else:
                return None
            if tuple(exp) != al_u:
                return None
        if x >= 0 and mb[a] == -1:
            mb = mb[:a] + (x,) + mb[a + 1 :]
        if self.view(u)[self._pc_off[a]] in self._gone:
            mb = mb[:a] + (-1,) + mb[a + 1 :]
        u, pb = self.canon_p(u, tuple(pbl))
        u, mb = self.canon(u, mb)
        return (u, mb, pb, ahead.union(consumed) if consumed else ahead), newg

    # -- the search over events ----------------------------------------------------

    def _expand(self, ev_i: int, want: int) -> int:
        """Go on with event ev_i's closure, breadth first, until `want` new
        nodes have reached the next event (and the depth they were found at
        is done), or the closure is exhausted. Returns how many arrived."""
        st = self._ev[ev_i]
        i = self._trans[ev_i]
        model = self.model
        if st.expect is None:
            ev = self.prep.events[i]
            st.expect = expect_for(ev, self._slot(ev))
            if self._may_lock(i):
                st.expect = replace(st.expect, locked=True)
        model.expect = st.expect
        nxt = self._ev[ev_i + 1]
        todo, seen = st.todo, st.seen
        pc_off, view, gone = self._pc_off, self.view, self._gone
        arrived = 0
        full_at = None
        while todo:
            node = todo[0]
            depth = seen[node] + 1
            if full_at is None and arrived >= want:
                full_at = depth
            if full_at is not None and depth > full_at:
                break
            todo.popleft()
            t, mb, pb, ahead = node
            if i in ahead:  # a step matched it already, with an earlier event
                arrived += self._arrive(nxt, (t, mb, pb, ahead - {i}), 0)
                continue
            al_s = self.alpha(t)
            succ = model.successors(t)[0]
            self.expansions += 1
            for a, _label, u in succ:
                if self.alpha(u) == al_s:
                    nmb = mb
                    if mb[a] != -1 and view(u)[pc_off[a]] in gone:
                        nmb = mb[:a] + (-1,) + mb[a + 1 :]
                    cu, cmb = self.canon(u, nmb)
                    n = (cu, cmb, pb, ahead)
                    if n not in seen:
                        if len(seen) >= self.max_states:
                            st.truncated = True
                            continue
                        seen[n] = depth
                        todo.append(n)
                    continue
                got = self.match(node, al_s, a, u, i)
                if got is not None:
                    self.gslot.update(got[1])
                    arrived += self._arrive(nxt, got[0], depth - 1)
        self.peak_closure = max(self.peak_closure, len(seen))
        return arrived

    def _arrive(self, st: _EventSearch, node: Node, depth: int) -> int:
        """A node reaches the next event: queued there unless it already was."""
        if node in st.seen:
            return 0
        st.seen[node] = 0
        st.todo.append(node)
        st.arrived += 1
        return 1

    def _assert_status(self, ev_i: int) -> None:
        """A status event (Undetermined -> X) keeps the nodes its projection
        allows (binding the M or P it names) and passes them on."""
        st, nxt = self._ev[ev_i], self._ev[ev_i + 1]
        ev = self.prep.events[self._trans[ev_i]]
        while st.todo:
            node = st.todo.popleft()
            got = self.assertion(node, ev)
            if got is not None:
                self._arrive(nxt, got, 0)

    def run(self, batch: int = BATCH) -> Result:
        """The search, event by event, depth first over events and breadth
        first within one: each event's closure is explored only until
        `batch` nodes have reached the next event, and the search moves on
        with those. When an event cannot be explained from what reached it,
        the search goes back to the latest earlier event whose closure is
        not exhausted and resumes it there (never from the start). Nothing
        is pruned: only when every closure is exhausted is the trace
        rejected, at the furthest event reached, so a rejection is the exact
        search's."""
        prep = self.prep
        start = time.monotonic()
        self.expansions = 0
        self.peak_closure = 0
        self.gslot = dict(prep.gslot)
        self._trans = [i for i in range(prep.end) if prep.events[i].kind == "StateTransition"]
        n = len(self._trans)
        self._ev = [_EventSearch() for _ in range(n + 1)]
        for node in self.initial():
            self._arrive(self._ev[0], node, 0)
        k = 0  # the event being explained
        furthest = 0
        self.resumes = 0
        while k < n:
            if self.progress is not None and k > furthest and not k & 255:
                self.progress(self._trans[k], prep.end)
            furthest = max(furthest, k)
            ev = prep.events[self._trans[k]]
            if ev.frm == "Undetermined":
                self._assert_status(k)
            else:
                self._expand(k, batch)
            if self._ev[k + 1].todo:
                k += 1
                continue
            # Nothing reached the next event (this time): resume the latest
            # event whose closure has nodes left to expand.
            back = k
            while back >= 0 and not self._ev[back].todo:
                back -= 1
            if back < 0:
                break
            self.resumes += 1
            k = back
        transitions = furthest + 1 if k < n else n
        peak = max((e.arrived for e in self._ev), default=0)
        if k >= n:
            verdict = "partial" if prep.end_reason else "conforms"
            res = Result(verdict, prep.end, n, time.monotonic() - start, peak_frontier=peak)
            res.reason = prep.end_reason
        else:
            i = self._trans[furthest]
            before = list(self._ev[furthest].seen)
            truncated = [j for j in range(furthest + 1) if self._ev[j].truncated]
            verdict = "limit" if truncated else "fails"
            res = self._result(verdict, i, start, transitions, peak, before, bool(truncated))
            if truncated:
                at = prep.events[self._trans[truncated[0]]]
                res.reason = (
                    f"more than {self.max_states:,} states before one event (line {at.line})"
                )
        res.peak_closure, res.expansions = self.peak_closure, self.expansions
        res.stats = {"resumes": self.resumes, "batch": batch}
        return res

    def check(self) -> Result:
        return self.run()

    def _result(self, verdict, i, start, transitions, peak, before, truncated=False) -> Result:
        ev = self.prep.events[i]
        res = Result(verdict, i, transitions, time.monotonic() - start, peak_frontier=peak)
        res.failure = Failure(ev, i, before, truncated)
        res.peak_closure, res.expansions = self.peak_closure, self.expansions
        return res

    # -- describing states in the trace's names ---------------------------------------

    def describe(self, node: Node) -> str:
        """One model state, with goroutines, procs and threads as the trace names them."""
        t, mb, pb, _ = node
        t = self.view(t)
        L = self.model.L
        gname = {slot: g for g, slot in self.gslot.items()}

        def G(s: int) -> str:
            return f"G{gname.get(s, '?' + str(s))}" if s != NONE else "-"

        def P(q: int) -> str:
            return f"P{pb[q]}" if pb[q] != -1 else f"P(unused {q})"

        def M(a: int) -> str:
            if a == L.SYSMON:
                return "sysmon"
            return f"M{self.prep.threads[mb[a]]}" if mb[a] != -1 else f"M(model {a})"

        parts = []
        for q in range(L.nP):
            st = t[L.p_status[q]]
            owner = t[L.p_m[q]]
            queue = [G(g) for g in q_items(t, L.runq[q], L.C)]
            desc = f"{P(q)} {'idle' if st == 0 else 'running'}"
            if owner != NONE:
                desc += f" on {M(owner)}"
            if t[L.runnext[q]] != NONE:
                desc += f" runnext={G(t[L.runnext[q]])}"
            if queue:
                desc += f" runq=[{' '.join(queue)}]"
            parts.append(desc)
        gq = [G(g) for g in q_items(t, L.grunq, L.nG)]
        if gq:
            parts.append(f"global runq=[{' '.join(gq)}]")
        for a in range(L.nM):
            pc = t[L.pc[a]]
            if pc in (PC.PARKED, PC.NOT_CREATED) and mb[a] == -1:
                continue
            desc = f"{M(a)} at {PC_NAMES[pc]}"
            if t[L.curg[a]] != NONE:
                desc += f" curg={G(t[L.curg[a]])}"
            if t[L.spinning[a]]:
                desc += " spinning"
            parts.append(desc)
        parked = sum(1 for a in range(L.nM) if t[L.pc[a]] == PC.PARKED)
        parts.append(
            f"{parked} Ms parked, nmspinning={t[L.nmspinning]}, needspinning={t[L.needspinning]}"
        )
        limbo = [G(g) for g in range(L.nG) if self.model.in_limbo(t, g)]
        if limbo:
            parts.append(f"runnable since before the trace: {' '.join(limbo)}")
        return "; ".join(parts)

    def observed(self, node: Node) -> str:
        """The projection of a state: what the trace can see."""
        t, mb, pb, _ = node
        al = self.alpha(t)
        gname = {slot: g for g, slot in self.gslot.items()}
        out = []
        for s in sorted(gname, key=gname.get):
            st = al[self.proj.g_at(s)]
            if st != 0:
                out.append(f"G{gname[s]} {G_NAMES[st]}")
        for q in range(self.prep.procs):
            st = al[self.proj.p_at(q)]
            name = f"P{pb[q]}" if pb[q] != -1 else f"P(unused {q})"
            out.append(f"{name} {P_NAMES[st]}")
        return ", ".join(out)


# ---- running it --------------------------------------------------------------------


@dataclass
class Checked:
    result: Result
    search: Search
    source: str
    go_version: str
    gomaxprocs: int


def check_events(
    events: list[Event], source: str, max_states: int, progress=None
) -> tuple[Result, Search]:
    prep = prepare(events)
    search = Search(prep, max_states=max_states)
    search.progress = progress
    return search.check(), search


def load_trace(path: Path, tc_getter, max_bytes: int | None = None) -> tuple[list[Event], str]:
    """The events of a trace file (binary: parsed by `go tool trace`; a saved
    dump: read directly). Returns the events and the dump's text."""
    kind, version, data = read_trace_file(path, max_bytes)
    text = parsed_dump(tc_getter(), path) if kind == "binary" else path.read_text()
    return parse_dump(text, str(path)), text


def trace_program(
    program: Path,
    *,
    gomaxprocs: int | None,
    godebug: str,
    timeout: float,
    out_dir: Path | None,
    tc: Toolchain | None = None,
) -> tuple[list[Event], Toolchain, Path | None, float]:
    """Build and run PROGRAM.go with the tracer on; its events, the toolchain,
    where the binary trace was saved (under out_dir), and the run's wall time."""
    from checker.progress import announce

    tc = tc or find_toolchain()
    with tempfile.TemporaryDirectory(prefix="gmpcheck-conform-") as tmp:
        work = Path(tmp)
        announce("go build")
        binary = build(tc, program, work / "build")
        trace_file = work / "trace.out"
        announce("running the program")
        res = run(tc, binary, trace_file, gomaxprocs=gomaxprocs, godebug=godebug, timeout=timeout)
        if res.timed_out:
            raise GoToolError(f"{program} did not finish within {timeout:g}s (see --timeout)")
        if res.returncode != 0:
            last = [ln for ln in res.stderr.splitlines() if ln.strip()][:1]
            raise GoToolError(
                f"{program} exited with status {res.returncode}: {last[0] if last else ''}".rstrip()
            )
        if not trace_file.is_file() or trace_file.stat().st_size == 0:
            raise GoToolError(f"{program} wrote no trace (does it call os.Exit?)")
        data = trace_file.read_bytes()
        version = binary_format(data)
        if version is None:
            raise GoToolError(f"{program}: the trace it wrote is not a Go execution trace")
        check_format(version, f"{program} (run by {tc.version})")
        # The version line first, so that line numbers are the saved dump's.
        announce("go tool trace")
        text = f"# go 1.{version} trace\n" + parsed_dump(tc, trace_file)
        saved = None
        if out_dir is not None:
            stem = program.stem + (f"-p{gomaxprocs}" if gomaxprocs else "")
            saved = out_dir / f"conform-{stem}.trace"
            write_atomically(saved, data)
            write_atomically(out_dir / f"conform-{stem}.parsed.txt", text)
    return parse_dump(text, str(program)), tc, saved, res.elapsed


def summary(res: Result, search: Search, source: str, extra: dict) -> dict:
    prep = search.prep
    rate = res.checked / res.elapsed if res.elapsed > 0 else 0.0
    doc = {
        "schema": SCHEMA,
        "source": source,
        "profile": PROFILE,
        "verdict": res.verdict,
        "events": len(prep.events),
        "checked_events": res.checked,
        "state_transitions": res.transitions,
        "elapsed_s": round(res.elapsed, 3),
        "events_per_s": round(rate),
        "model": {
            "procs": prep.procs,
            "threads": len(prep.threads),
            "goroutine_slots": prep.slots,
        },
        "goroutines": {
            "program": sorted(prep.program_gs),
            "runtime": sorted(prep.runtime_gs),
        },
        "search": {
            "peak_frontier": res.peak_frontier,
            "peak_closure": res.peak_closure,
            "expansions": res.expansions,
        },
        "reason": res.reason or None,
        # Checked up to the wrapper's end mark: the rest is the tracer's shutdown.
        "program_end": prep.end < len(prep.events) and not prep.end_reason,
        **extra,
    }
    if res.failure is not None:
        f = res.failure
        doc["failure"] = {
            "event_index": f.index,
            "line": f.event.line,
            "event": f.event.text,
            "states_before": len(f.before),
            "observed_before": search.observed(f.before[0]) if f.before else None,
            "examples": _distinct(search.describe(n) for n in f.before)[:5],
        }
    return doc


def _distinct(descriptions: Iterable[str]) -> list[str]:
    """Descriptions in order, each once (states that differ only in what the
    description leaves out, e.g. bindings or ages, read the same)."""
    return list(dict.fromkeys(descriptions))


def render(doc: dict) -> list[str]:
    out = []
    src = doc["source"]
    v = doc["verdict"]
    head = (
        f"{src}: {doc['checked_events']:,} of {doc['events']:,} events checked against the "
        f"{doc['profile']} model in {doc['elapsed_s']:.2f} s ({doc['events_per_s']:,} events/s)"
    )
    out.append(head)
    m = doc["model"]
    g = doc["goroutines"]
    out.append(
        f"model: {m['procs']} Ps, {m['threads']} threads, {m['goroutine_slots']} goroutine slots; "
        f"goroutines: {len(g['program'])} the program's, {len(g['runtime'])} the runtime's"
    )
    if v == "conforms" and doc["program_end"]:
        out.append(
            "conforms: the model explains every event up to the program's end "
            "(the rest is the tracer's shutdown)"
        )
    elif v == "conforms":
        out.append("conforms: the model explains every event")
    elif v == "partial":
        out.append(f"conforms up to event {doc['checked_events']:,}; the rest is {doc['reason']}")
    else:
        f = doc["failure"]
        if v == "limit":
            out.append(
                f"inconclusive at event {f['event_index']:,} (line {f['line']}): {doc['reason']}"
            )
        else:
            out.append(
                f"does not conform: the model cannot explain event {f['event_index']:,} "
                f"(line {f['line']} of the dump):"
            )
        out.append(f"  {f['event']}")
        out.append(f"the trace shows, just before it: {f['observed_before']}")
        out.append(f"the model could be in {f['states_before']:,} states then, e.g.:")
        for ex in f["examples"]:
            out.append(f"  - {ex}")
    return out


def exit_code(verdict: str) -> int:
    return {"conforms": EXIT_OK, "fails": EXIT_SAFETY}.get(verdict, EXIT_INCONCLUSIVE)


def iter_transitions(events: Iterable[Event]) -> Iterable[Event]:
    return (e for e in events if e.kind == "StateTransition")


# The benchmark's runs: corpus programs at the GOMAXPROCS values the search
# explains in about a second (docs/conformance.md, Performance).
BENCH_RUNS = (
    ("spawn", 1),
    ("spawn", 2),
    ("pingpong", 2),
    ("gosched", 2),
    ("mutex", 1),
    ("cpubound", 2),
    ("syscalls", 1),
    ("pingponglong", 1),
    ("pingponglong", 2),
)
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "conform"


def bench_corpus(runs: int, evidence_dir: Path | None = None) -> tuple[str, list[dict]]:
    """Trace each BENCH_RUNS program once, then check its trace `runs` times:
    the Go version and, per program, events, verdict and the median events/s.
    A run that does not conform keeps its trace (binary and dump) in
    `evidence_dir`, named in its row. GoToolError when there is no toolchain."""
    import shutil

    tc = find_toolchain()
    rows = []
    for name, procs in BENCH_RUNS:
        with tempfile.TemporaryDirectory(prefix="gmpcheck-bench-") as tmp:
            events, _, saved, _ = trace_program(
                CORPUS / f"{name}.go", gomaxprocs=procs, godebug="", timeout=60,
                out_dir=Path(tmp), tc=tc,
            )  # fmt: skip
            first, _search = check_events(events, name, 200_000)
            evidence = None
            if first.verdict != "conforms" and evidence_dir is not None and saved is not None:
                evidence_dir.mkdir(parents=True, exist_ok=True)
                for f in sorted(Path(tmp).iterdir()):
                    shutil.copyfile(f, evidence_dir / f.name)
                evidence = str(evidence_dir / saved.name)
        walls, verdict, checked = [], "", 0
        for _ in range(runs):
            res, _search = check_events(events, name, 200_000)
            walls.append(res.elapsed)
            verdict, checked = res.verdict, res.checked
        wall = statistics.median(walls)
        rows.append(
            {
                "program": f"{name}.go",
                "gomaxprocs": procs,
                "events": checked,
                "verdict": verdict,
                "first_verdict": first.verdict,
                "evidence": evidence,
                "wall_s_median": round(wall, 4),
                "wall_s_all": [round(w, 4) for w in walls],
                "events_per_s": round(checked / wall) if wall > 0 else 0,
            }
        )
    return tc.version, rows
