"""`python -m checker check` (the default command): the explicit search, the
compiled kernel, a Dask cluster, or the symbolic engine; the summary."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checker.app.args import (
    EXIT_CODES,
    _add_model_args,
    _int,
    _number,
    add_command,
    make_model,
    parse_fairness,
    select_properties,
)
from checker.engine.checkpoint import DEFAULT_EVERY_MIN, Checkpoints, run_identity
from checker.engine.explore import Progress, default_workers
from checker.engine.graph import GRAPH_MAX_STATES, graph_format, write_graph
from checker.engine.protocol import has_symmetry
from checker.errors import UsageError
from checker.progress import Phases
from checker.results import CheckSummary, print_json
from checker.run import run_check
from checker.views import report
from checker.views.render import Style, print_lines, use_color
from checker.views.summary_text import render_summary
from specs import properties_of

# The liveness graph keeps each edge's fairness groups in 64 bits (explore.py).
MAX_FAIRNESS_GROUPS = 64


def _fairness() -> dict[str, str]:
    from specs.liveness import FAIRNESS

    return FAIRNESS


def register(sub) -> Callable[[argparse.Namespace], int]:
    c = add_command(
        sub, "check", "explore the model and check its properties (the default command)", EXIT_CODES
    )
    _add_model_args(c)
    s = c.add_argument_group("the search")
    _search_args(s)
    _engine_args(s)
    return cmd_check


def _search_args(s) -> None:
    s.add_argument("--depth", type=_int("--depth", 0), default=12, help="steps; 0: all (12)")
    s.add_argument("--property", action="append", default=[], metavar="ID", help="repeatable")
    s.add_argument("--workers", type=_int("--workers", 1), default=0, help="processes (CPUs)")
    s.add_argument("--no-symmetry", action="store_true", help="turn symmetry reduction off")
    s.add_argument(
        "--max-states",
        type=_int("--max-states", 1),
        default=None,
        metavar="N",
        help="stop after N distinct states and print what was established (exit 4)",
    )
    s.add_argument("--out", default="reports", help="where counterexamples go (reports)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines on stderr (none either when stderr is not a terminal)",
    )
    s.add_argument(
        "--strict",
        action="store_true",
        help="exit 4 when any verdict is INCONCLUSIVE (by default a verdict a --depth bound "
        "leaves open is printed with its reason and the run exits 0)",
    )
    c = s.add_mutually_exclusive_group()
    c.add_argument(
        "--checkpoint",
        default="",
        metavar="DIR",
        help="write checkpoints of the search to DIR (a new or empty directory): every "
        "--checkpoint-every minutes, when stopped (Ctrl-C, SIGTERM) and when a search ends",
    )
    c.add_argument(
        "--resume",
        default="",
        metavar="DIR",
        help="continue the run whose checkpoints are in DIR (the same command, but for "
        "--workers) and go on writing checkpoints there",
    )
    s.add_argument(
        "--checkpoint-every",
        type=_number("--checkpoint-every", "minutes", 0, 1e6),
        default=DEFAULT_EVERY_MIN,
        metavar="MINUTES",
        help=f"time between checkpoints; 0: at every level ({DEFAULT_EVERY_MIN:g})",
    )
    s.add_argument(
        "--coverage",
        action="store_true",
        help="print, for every step of the model (actor, program counter, @step method), "
        "from how many states it was taken, and the steps never taken",
    )
    s.add_argument(
        "--fairness",
        default="",
        metavar="A,B",
        help="liveness assumptions, from "
        + "; ".join(f"{k}: {v}" for k, v in _fairness().items())
        + " (default: each property's own, printed with its verdict)",
    )


def _checkpoints(args: argparse.Namespace, model, props) -> Checkpoints | None:
    """The run's checkpoint directory, checked before any work (exit 2)."""
    directory = args.checkpoint or args.resume
    if not directory:
        return None
    identity = run_identity(
        model,
        props,
        depth=args.depth,
        max_states=args.max_states,
        symmetry=not args.no_symmetry,
        exact=bool(args.exact or args.graph),
        fairness=args.fairness,
    )
    cps = Checkpoints(
        Path(directory), identity, every_s=args.checkpoint_every * 60, resume=bool(args.resume)
    )
    cps.open()
    return cps


def _engine_args(s) -> None:
    s.add_argument(
        "--steps",
        choices=("fine", "macro"),
        default="fine",
        help="fine: one step per runtime-atomic action; macro: one per runtime routine",
    )
    s.add_argument(
        "--kernel",
        choices=("auto", "compiled", "python"),
        default="auto",  # $GMPCHECK_KERNEL overrides auto
        help="the successor function: compiled (C, generated from the model and cached) or "
        "python (the model's own steps); auto: compiled where a C compiler exists and the "
        "model can be compiled, else python, with the reason (auto)",
    )
    s.add_argument(
        "--distributed",
        default="",
        metavar="ADDRESS",
        help="partition the search (safety properties) over a Dask cluster: local:N starts "
        "N workers on this machine, tcp://HOST:PORT uses a running scheduler",
    )
    s.add_argument(
        "--exact",
        action="store_true",
        help="compiled kernel: keep every state, not its 64-bit fingerprint (no collision "
        "can merge two states; more memory)",
    )
    s.add_argument(
        "--graph",
        default="",
        metavar="FILE",
        help=f"export the explored state graph, counterexample paths marked: FILE.graphml or "
        f"FILE.dot; runs of at most {GRAPH_MAX_STATES:,} states (else exit 2, nothing written)",
    )
    s.add_argument(
        "--engine",
        choices=("explicit", "smt", "both"),
        default="explicit",
        help="explicit: breadth-first search; smt: bounded model checking of the safety "
        "properties with z3 (docs/smt.md); both: run the two, exit 7 if they disagree",
    )
    s.add_argument(
        "--solver-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="smt: limit per solver query; no answer in time is inconclusive (exit 4)",
    )
    s.add_argument(
        "--lemmas",
        action="store_true",
        help="smt: first prove the invariants by k-induction (as `prove`), then assume the "
        "proved ones in every state BMC unrolls: the same verdicts, far deeper",
    )


class SearchProgress:
    """The explicit engine's phases on one progress display (checker/progress.py):
    the search's states, rate, depth and frontier, the liveness analysis's
    properties; and before an unbounded search that will not finish soon,
    an estimate of its time and memory (checker/engine/estimate.py), printed once
    unless --quiet, terminal or not."""

    def __init__(self, phases, *, unbounded: bool, quiet: bool):
        self.phases = phases
        self.current: Any = None  # the phase's progress line (checker/progress.py)
        self.name = ""
        self.unbounded = unbounded
        self.quiet = quiet
        self.levels: list[int] = []
        self.level_depth = -1
        self.warned = False
        self.base_rss = 0

    def phase(self, name: str, done: int, total: int | None) -> None:
        if name != self.name:
            if self.current is not None:
                self.current.finish()
            unit = "" if name == "liveness analysis" else "states"
            self.current = self.phases.phase(name, total=total, unit=unit)
            self.name = name
            self.levels, self.level_depth = [], -1
            from checker.engine.estimate import rss_bytes

            self.base_rss = rss_bytes()
        if name == "liveness analysis":
            self.current.update(done, total, info="properties")

    def __call__(self, p: Progress) -> None:
        if self.current is None:
            self.phase("search", 0, None)
        self.current.update(
            p.states, info=f"depth {p.depth}  frontier {p.frontier:,}  {p.transitions:,} steps"
        )
        if p.depth != self.level_depth:
            self.level_depth = p.depth
            self.levels.append(p.frontier)
            self._estimate(p)

    def _estimate(self, p: Progress) -> None:
        if not self.unbounded or self.warned or self.quiet:
            return
        from checker.engine.estimate import estimate, machine_memory, rss_bytes, warning

        per_state = max(100.0, (rss_bytes() - self.base_rss) / max(p.states, 1))
        e = estimate(self.levels[:-1], p.states, p.elapsed, per_state)
        line = warning(e, machine_memory()) if e else None
        if line:
            self.warned = True
            if self.phases.progress is not None:
                self.phases.note(line)
            else:
                print(line, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.current is not None:
            self.current.finish()
            self.current = None


def cmd_check(args: argparse.Namespace) -> int:
    if args.lemmas and args.engine == "explicit":
        raise UsageError("--lemmas is for --engine smt or both")
    # The model offers its symmetry; --no-symmetry is an option of the search.
    model = make_model(args)
    props = select_properties(model, args.property)
    groups = getattr(model, "fairness_groups", None)
    if args.engine == "explicit" and groups and any(p.kind == "liveness" for p in props):
        n = len(groups())
        if n > MAX_FAIRNESS_GROUPS:
            raise UsageError(
                f"the liveness properties handle at most {MAX_FAIRNESS_GROUPS} fairness groups "
                f"(threads, sysmon, Ps), and this configuration has {n}: use fewer --max-ms or "
                "--cores, or check the safety properties alone (--property)"
            )
    if args.checkpoint or args.resume:
        if args.engine != "explicit":
            raise UsageError("--checkpoint and --resume are for --engine explicit")
        if args.distributed:
            raise UsageError(
                "--checkpoint and --resume are for the local search, not --distributed"
            )
    if args.engine != "explicit":
        from checker.smt.cli import cmd_check_engine

        return cmd_check_engine(args, model, props, lambda: explicit_check(args, model, props))
    summary = explicit_check(args, model, props)
    return report.EXIT_INCONCLUSIVE if summary is None else summary.exit_code


def explicit_check(args: argparse.Namespace, model, props) -> CheckSummary | None:
    """The explicit engine's run and its printed summary (None: a cluster
    that failed, said on stderr)."""
    if args.distributed:
        return distributed_check(args, model, props)
    started = time.monotonic()
    workers = args.workers or default_workers()
    max_states = args.max_states
    if args.graph:
        graph_format(args.graph)  # a bad file name is a usage error before any work
        # Stop one state past the limit: that is enough to know it is too big.
        max_states = min(max_states or GRAPH_MAX_STATES + 1, GRAPH_MAX_STATES + 1)
    checkpoints = _checkpoints(args, model, props)
    phases = Phases(not args.quiet)
    progress = SearchProgress(phases, unbounded=args.depth == 0, quiet=args.quiet)
    try:
        run = run_check(
            model,
            props,
            depth=args.depth,
            workers=workers,
            max_states=max_states,
            progress=progress,
            fairness=parse_fairness(args.fairness),
            phase=progress.phase,
            kernel=args.kernel,
            exact=args.exact or bool(args.graph),
            strict_kernel=getattr(model, "plugin", None) is not None,
            checkpoints=checkpoints,
            symmetry=not args.no_symmetry,
        )
    finally:
        progress.done()
        phases.close()
    ex, symmetry = run.ex, run.symmetry
    graph, graph_error = None, ""
    if args.graph:
        try:
            graph = write_graph(model, ex, args.graph)
        except OSError as e:
            graph_error = f"{args.graph}: {e.strerror or e}"
    summary = report.summarize(
        model,
        props,
        ex,
        depth=args.depth,
        workers=workers,
        symmetry=symmetry,
        out_dir=Path(args.out),
        all_props=[p for p in properties_of(model) if p.default],
        liveness=run.liveness,
        live_ex=run.live_ex,
        interrupted=run.interrupted,
        strict=args.strict,
        stop_reason=run.stop_reason,
    )
    _add_run_figures(summary, model, run, started)
    if checkpoints is not None:
        summary.checkpoint = {
            "directory": str(checkpoints.directory),
            "resumed": checkpoints.resumed,
            "saved": checkpoints.saved,
        }
    if graph is not None:
        summary.graph = {
            "file": args.graph,
            "nodes": graph.number_of_nodes(),
            "edges": graph.number_of_edges(),
        }
    unwritten = [p.write_error for p in summary.properties if p.write_error]
    unwritten += [graph_error] if graph_error else []
    if unwritten and summary.exit_code == report.EXIT_OK:
        summary.exit_code = report.EXIT_USAGE  # the run's verdicts stand; a file is missing
    _print_explicit(args, model, ex, summary, graph)
    for u in unwritten:
        print(f"error: could not write {u}", file=sys.stderr)
    return summary


def _add_run_figures(summary: CheckSummary, model, run, started: float) -> None:
    """The run's kernel, plug-in notes, memory, time and liveness graph."""
    summary.search.kernel = run.kernel
    summary.search.kernel_note = run.kernel_note
    plugin = getattr(model, "plugin", None)
    if plugin is not None and plugin.get("kind") == "model":
        from checker.plugin import label_audit

        summary.plugin_notes = label_audit(model)
    summary.result.memory = report.memory_figures(run)
    summary.result.total_s = round(time.monotonic() - started, 3)
    if run.live_ex is not None:
        lx = run.live_ex
        summary.result.liveness_graph = {
            "states": len(lx.states),
            "edges": len(lx.edge_src),
            "expanded": int(sum(lx.is_expanded)),
            "symmetry": False,
            "elapsed_s": round(lx.elapsed, 3) if lx is not run.ex else None,
            "analysis_s": round(run.analysis_s, 3),
        }


def _print_explicit(args: argparse.Namespace, model, ex, summary: CheckSummary, graph) -> None:
    """The summary as JSON or text, with the graph's line and the coverage."""
    table = None
    if getattr(args, "coverage", False):
        from checker.engine import coverage

        table = coverage.rows(model, coverage.by_kind(model, ex.coverage))
        summary.coverage = coverage.as_json(table)
    if args.json:
        if args.engine == "explicit":  # with both, the two summaries are printed together
            print_json(summary)
        return
    lines = render_summary(summary, Style(use_color(sys.stdout)))
    if graph is not None:
        lines.insert(
            lines.index(""),
            f"graph     {graph.number_of_nodes():,} states, {graph.number_of_edges():,} "
            f"edges -> {args.graph}",
        )
    if table is not None:
        from checker.engine import coverage

        lines += ["", *coverage.render(table)]
    print_lines(lines)


def distributed_check(args: argparse.Namespace, model, props) -> CheckSummary | None:
    """The safety properties, the search partitioned over a Dask cluster
    (checker/kernel/distributed.py); liveness needs the whole graph on one
    machine and is left unchecked."""
    from checker.kernel.distributed import DistributedError, explore_distributed

    for flag, bad in (
        ("--max-states", args.max_states),
        ("--graph", args.graph),
        ("--kernel python", args.kernel == "python"),
        ("--exact", args.exact),
    ):
        if bad:
            raise UsageError(f"{flag} is not offered with --distributed")
    safety = [p for p in props if p.kind != "liveness"]
    plugin = ""
    if args.model:
        path, _, name = args.model.rpartition(":")
        plugin = f"{Path(path).resolve()}:{name}"
    phases = Phases(not args.quiet)
    progress = SearchProgress(phases, unbounded=args.depth == 0, quiet=args.quiet)
    started = time.monotonic()
    try:
        ex = explore_distributed(
            model, safety, depth=args.depth, address=args.distributed, plugin=plugin,
            progress=progress, symmetry=not args.no_symmetry,
        )  # fmt: skip
    except DistributedError as e:
        print(f"error: --distributed: {e}", file=sys.stderr)
        return None
    finally:
        progress.done()
        phases.close()
    summary = report.summarize(
        model,
        safety,
        ex,
        depth=args.depth,
        workers=ex.partitions,
        symmetry=not args.no_symmetry and has_symmetry(model),
        out_dir=Path(args.out),
        all_props=[p for p in properties_of(model) if p.default],
        strict=args.strict,
    )
    summary.result.total_s = round(time.monotonic() - started, 3)
    summary.search.kernel = "compiled"
    summary.search.kernel_note = (
        f"compiled, distributed over {args.distributed} ({ex.partitions} partitions; "
        "liveness is not checked: it needs the whole graph on one machine)"
    )
    if args.json:
        print_json(summary)
    else:
        print_lines(render_summary(summary, Style(use_color(sys.stdout))))
    return summary
