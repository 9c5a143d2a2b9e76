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

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
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
from checker.golang.portfolio import Portfolio
from checker.golang.prepare import (  # noqa: F401  (the room's front: its names)
    MAX_GS,
    MAX_PS,
    PROFILE,
    SCHEMA,
    ConformError,
    Prepared,
    prepare,
)
from checker.golang.search import Failure, Result, Search  # noqa: F401
from checker.results import ConformFailure, ConformSummary, ProgramRun
from checker.verdict import Verdict
from checker.views.report import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_SAFETY

# ---- running it --------------------------------------------------------------------


@dataclass
class Checked:
    result: Result
    search: Search
    source: str
    go_version: str
    gomaxprocs: int


def check_events(
    events: list[Event], source: str, max_states: int, progress=None, workers: int = 1
) -> tuple[Result, Search]:
    """Check the events: the search in its orders, taking turns
    (checker/golang/portfolio.py), in up to `workers` processes; the result
    and the order's search that gave it."""
    portfolio = Portfolio(prepare(events), max_states=max_states)
    portfolio.progress = progress
    return portfolio.run(workers=workers)


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


def summary(
    res: Result, search: Search, source: str, run: ProgramRun | None = None
) -> ConformSummary:
    """The check of one trace as `conform` reports it; `run`: the program it
    ran, if it ran one."""
    prep = search.prep
    rate = res.checked / res.elapsed if res.elapsed > 0 else 0.0
    failure = None
    if res.failure is not None:
        f = res.failure
        failure = ConformFailure(
            event_index=f.index,
            line=f.event.line,
            event=f.event.text,
            states_before=len(f.before),
            observed_before=search.observed(f.before[0]) if f.before else None,
            examples=_distinct(search.describe(n) for n in f.before)[:5],
        )
    return ConformSummary(
        schema=SCHEMA,
        source=source,
        profile=PROFILE,
        verdict=res.verdict,
        events=len(prep.events),
        checked_events=res.checked,
        state_transitions=res.transitions,
        elapsed_s=round(res.elapsed, 3),
        events_per_s=round(rate),
        procs=prep.procs,
        threads=len(prep.threads),
        goroutine_slots=prep.slots,
        program_gs=sorted(prep.program_gs),
        runtime_gs=sorted(prep.runtime_gs),
        peak_frontier=res.peak_frontier,
        peak_closure=res.peak_closure,
        expansions=res.expansions,
        reason=res.reason or None,
        # Checked up to the wrapper's end mark: the rest is the tracer's shutdown.
        program_end=prep.end < len(prep.events) and not prep.end_reason,
        exit_code=exit_code(res.verdict),
        run=run,
        failure=failure,
    )


def _distinct(descriptions: Iterable[str]) -> list[str]:
    """Descriptions in order, each once (states that differ only in what the
    description leaves out, e.g. bindings or ages, read the same)."""
    return list(dict.fromkeys(descriptions))


def render(doc: ConformSummary) -> list[str]:
    out = []
    v = doc.verdict
    head = (
        f"{doc.source}: {doc.checked_events:,} of {doc.events:,} events checked against the "
        f"{doc.profile} model in {doc.elapsed_s:.2f} s ({doc.events_per_s:,} events/s)"
    )
    out.append(head)
    out.append(
        f"model: {doc.procs} Ps, {doc.threads} threads, {doc.goroutine_slots} goroutine slots; "
        f"goroutines: {len(doc.program_gs)} the program's, {len(doc.runtime_gs)} the runtime's"
    )
    if v == Verdict.CONFORMS and doc.program_end:
        out.append(
            "conforms: the model explains every event up to the program's end "
            "(the rest is the tracer's shutdown)"
        )
    elif v == Verdict.CONFORMS:
        out.append("conforms: the model explains every event")
    elif v == Verdict.PARTIAL:
        out.append(f"conforms up to event {doc.checked_events:,}; the rest is {doc.reason}")
    elif doc.failure is not None:
        f = doc.failure
        if v == Verdict.LIMIT:
            out.append(f"inconclusive at event {f.event_index:,} (line {f.line}): {doc.reason}")
        else:
            out.append(
                f"does not conform: the model cannot explain event {f.event_index:,} "
                f"(line {f.line} of the dump):"
            )
        out.append(f"  {f.event}")
        out.append(f"the trace shows, just before it: {f.observed_before}")
        out.append(f"the model could be in {f.states_before:,} states then, e.g.:")
        for ex in f.examples:
            out.append(f"  - {ex}")
    return out


def exit_code(verdict: Verdict) -> int:
    return {Verdict.CONFORMS: EXIT_OK, Verdict.FAILS: EXIT_SAFETY}.get(verdict, EXIT_INCONCLUSIVE)


def iter_transitions(events: Iterable[Event]) -> Iterable[Event]:
    return (e for e in events if e.kind == "StateTransition")
