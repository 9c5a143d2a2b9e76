"""`python -m checker conform PROGRAM.go | --trace FILE`: an execution of the
real Go runtime checked against the model (checker/golang/conform.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from checker.app.args import _add_max_size, _int
from checker.engine.explore import default_workers
from checker.errors import UsageError
from checker.golang.conform import (
    MAX_PS,
    check_events,
    load_trace,
    render,
    summary,
    trace_program,
)
from checker.golang.gotool import find_toolchain
from checker.progress import Phases
from checker.results import ProgramRun, print_json


def register(sub) -> Callable[[argparse.Namespace], int]:
    c = sub.add_parser(
        "conform",
        help="check an execution of the real Go runtime against the model",
        description="Build and run PROGRAM.go with the execution tracer on (or read --trace FILE) "
        "and check that the model (go1.26 profile) can produce what the trace shows.",
    )
    c.add_argument("program", nargs="?", help="a Go program (package main, standard library only)")
    c.add_argument("--trace", metavar="FILE", help="check this trace instead of running a program")
    c.add_argument("--gomaxprocs", type=int, default=None, help="GOMAXPROCS for the run")
    c.add_argument("--godebug", default="", help="GODEBUG for the run, e.g. asyncpreemptoff=1")
    c.add_argument("--timeout", type=float, default=60.0, help="seconds the program may run (60)")
    c.add_argument("--max-states", type=int, default=200_000, help="per event (200,000)")
    c.add_argument("--out", default="reports", help="where the trace is saved (reports)")
    c.add_argument(
        "--workers",
        type=_int("--workers", 1),
        default=0,
        help="processes for the search (default: the CPUs, at most one per order); "
        "the verdict is the same with any number",
    )
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    _add_max_size(c)
    return cmd_conform


def cmd_conform(args: argparse.Namespace) -> int:
    if bool(args.program) == bool(args.trace):
        raise UsageError("conform needs a PROGRAM.go or --trace FILE (one of them)")
    if args.gomaxprocs is not None and not 1 <= args.gomaxprocs <= MAX_PS:
        raise UsageError(f"--gomaxprocs must be between 1 and {MAX_PS}")
    if args.max_states < 1:
        raise UsageError("--max-states must be at least 1")
    if not 0 < args.timeout <= 86_400:  # NaN fails this too
        raise UsageError(
            f"--timeout must be a number of seconds above 0, at most 86400 (got {args.timeout})"
        )
    run = None
    if args.trace:
        if args.gomaxprocs or args.godebug:
            raise UsageError("--gomaxprocs and --godebug are for running a program, not --trace")
        path = Path(args.trace)
        events, _ = load_trace(path, find_toolchain, int(args.max_size * 2**20))
        source = str(path)
    else:
        program = Path(args.program)
        events, tc, saved, _ = trace_program(
            program,
            gomaxprocs=args.gomaxprocs,
            godebug=args.godebug,
            timeout=args.timeout,
            out_dir=Path(args.out),
        )
        source = str(program)
        trace = None if saved is None else str(saved)
        run = ProgramRun(tc.version, args.gomaxprocs, args.godebug, trace)
    with Phases(not args.quiet) as phases, phases.phase("conformance search", unit="events") as ph:
        res, search = check_events(
            events,
            source,
            args.max_states,
            lambda i, n: ph.update(i, n, info="events"),
            workers=args.workers or default_workers(),
        )
    doc = summary(res, search, source, run)
    if args.json:
        print_json(doc)
    else:
        for line in render(doc):
            print(line)
        if run is not None and run.trace:
            print(f"trace saved: {run.trace} (check it again with --trace)")
    sys.stdout.flush()
    return doc.exit_code
