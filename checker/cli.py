"""The command line: `python -m checker [check|list|view|bench|replay|record] ...`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from checker import report
from checker.args import (
    Parser,
    _add_max_size,
    _add_model_args,
    _int,
    make_model,
    parse_fairness,
    select_properties,
)
from checker.conform import ConformError
from checker.errors import UsageError
from checker.explore import Progress, default_workers
from checker.gotool import GoToolError
from checker.gotrace import TraceFormatError
from checker.graph import GRAPH_MAX_STATES, GraphError, graph_format, write_graph
from checker.itf import TraceFileError, read_trace, require_current_model
from checker.kernel import KernelUnavailable
from checker.plugin import PluginError
from checker.progress import Phases
from checker.render import Style, page_lines, print_lines, render_trace, use_color
from checker.run import run_check
from checker.smt.cli import EngineUsageError
from checker.smt.relation import RelationUnsupported
from model.config import ConfigError
from model.workloads import WorkloadError
from specs import properties_of

EXIT_CODES = """exit codes:
  0   no checked property is violated and the run did what it was asked: a
      verdict its bounds leave open (liveness at a --depth bound) is printed
      as INCONCLUSIVE with its reason and does not fail the run (as TLC and
      Apalache treat a bounded run that finds no error); --strict makes it 4
  1   a safety property is violated (a counterexample is written under --out)
  2   usage or input error (one line on stderr)
  3   a liveness property is violated
  4   the run stopped before it did what it was asked, and prints what it
      established: --max-states, Ctrl-C, SIGTERM or SIGHUP, a worker process
      that died, out of memory, a model bound with --depth 0; smt: the solver
      gave no answer; prove: a target invariant not proved; with --strict,
      also any INCONCLUSIVE verdict
  5   replay divergence
  6   manifest mismatch (gate)
  7   the explicit and smt engines disagree (--engine both)
  70  internal error (a bug in gmpcheck)"""

REPLAY_EXIT_CODES = """exit codes:
  0   every step replayed in step with the trace (a violation it shows is
      then reproduced on real threads)
  2   the trace is malformed, truncated, of another configuration or model
      version, or of a profile the runtime does not implement (go1.26)
  4   interrupted (Ctrl-C, SIGTERM, SIGHUP)
  5   the runtime parts ways with the trace (the first step and the fields)
  70  a runtime thread raised or hung (the scheduler's state is printed)"""

RECORD_EXIT_CODES = """exit codes:
  0   the recording is accepted by the model: every step enabled, every state equal
  1   accepted, but a safety property is violated along it (a mutation)
  2   usage error (go1.26 is refused: the runtime implements go1.25)
  4   interrupted (Ctrl-C, SIGTERM, SIGHUP): the steps so far are kept and checked
  5   not accepted: the first step the model does not allow, the fields that differ
  70  a runtime thread raised (the recording up to it is kept) or the runtime hung"""

COMMANDS = ("check", "list", "view", "gate", "bench", "replay", "record", "prove", "conform")
TOP_OPTIONS = ("-h", "--help", "--version")


# The liveness graph keeps each edge's fairness groups in 64 bits (explore.py).
MAX_FAIRNESS_GROUPS = 64


InputError = (GoToolError, TraceFormatError, ConformError)  # conform's bad input: exit 2


def _fairness() -> dict[str, str]:
    from specs.liveness import FAIRNESS

    return FAIRNESS


def build_parser() -> Parser:
    top = Parser(
        prog="python -m checker",
        description="gmpcheck: a model checker for the Go scheduler's G-M-P design.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"gmpcheck {_version()}")
    sub = top.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")

    c = sub.add_parser(
        "check",
        help="explore the model and check its properties (the default command)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_model_args(c)
    s = c.add_argument_group("the search")
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

    pv = sub.add_parser(
        "prove",
        help="k-induction of the safety invariants with z3 (docs/smt.md)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_model_args(pv)
    pv.add_argument("--k", type=_int("--k", 1), default=1, help="induction depth (1)")
    pv.add_argument(
        "--solver-timeout", type=float, default=0.0, metavar="SECONDS", help="per query (none)"
    )
    pv.add_argument("--out", default="reports", help="where counterexamples to induction go")
    pv.add_argument("--json", action="store_true", help="print the result as JSON")
    pv.add_argument("--quiet", action="store_true", help="no progress line on stderr")

    lst = sub.add_parser("list", help="workloads, mutations and properties")
    lst.add_argument("--json", action="store_true", help="print them as JSON")

    v = sub.add_parser(
        "view", help="show a counterexample trace in the terminal, or as a page (--html)"
    )
    v.add_argument("trace", help="an ITF trace written by the checker")
    v.add_argument("--full", action="store_true", help="whole states, not only changes")
    v.add_argument("--step", type=_int("--step", 0), default=None, help="one step only")
    v.add_argument("--fields", default="", help="filter, e.g. P1,sched")
    v.add_argument("--compact", action="store_true", help="first and last steps only")
    v.add_argument(
        "--no-pager", action="store_true", help="never page (a terminal pages long text)"
    )
    v.add_argument(
        "--html", default="", metavar="OUT.html", help="write the lane view as one offline page"
    )
    v.add_argument(
        "--allow-stale", action="store_true", help="show a trace written by another model version"
    )
    _add_max_size(v)

    gt = sub.add_parser(
        "gate",
        help="the CI gate: the matrix of verdicts and the manifest of counts",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gt.add_argument("--workers", type=_int("--workers", 1), default=0, help="processes (CPUs)")
    gt.add_argument("--quick", action="store_true", help="a subset for local use (< 1 min)")
    gt.add_argument(
        "--full",
        action="store_true",
        help="also the exhaustive liveness cells at 3 and 4 Ps (tens of minutes, GBs of memory)",
    )
    gt.add_argument(
        "--cell",
        action="append",
        default=[],
        metavar="PREFIX",
        help="only cells whose id starts so (repeatable; each must match a cell)",
    )
    gt.add_argument("--manifest", default=str(_gate_manifest()), help="the committed counts")
    gt.add_argument("--update-manifest", action="store_true", help="record the counts")
    gt.add_argument("--junit", default="", metavar="FILE", help="JUnit XML, a case per cell")
    gt.add_argument("--sarif", default="", metavar="FILE", help="SARIF of wrong verdicts")
    gt.add_argument(
        "--out", default="reports/gate", help="where wrong cells' counterexamples go (reports/gate)"
    )
    gt.add_argument("--json", action="store_true", help="print the results as JSON")
    gt.add_argument("--quiet", action="store_true", help="no per-cell progress on stderr")
    gt.add_argument(
        "--coverage",
        action="store_true",
        help="print every step of Go's scheduler with the states and cells that reached it; "
        "fail when a step is reached by no cell (always checked on the whole matrix)",
    )

    b = sub.add_parser("bench", help="measure the canonical run (see README)")
    b.add_argument("--runs", type=_int("--runs", 1), default=3, help="runs per figure; medians (3)")
    b.add_argument(
        "--cores", type=_int("--cores", 1), default=4, help="the canonical run's cores (4)"
    )
    b.add_argument(
        "--depth", type=_int("--depth", 0), default=12, help="the canonical run's depth (12)"
    )
    b.add_argument("--workers", default="1,2", help="worker counts to measure (1,2)")
    b.add_argument(
        "--liveness-config",
        type=_liveness_config,
        default="mixed,2",
        metavar="WORKLOAD,CORES",
        help="the --depth 0 liveness run to measure (mixed,2: the gate's largest); '' for none",
    )
    b.add_argument(
        "--out", default="reports", help="where bench.json and failing evidence go (reports)"
    )
    b.add_argument(
        "--kernels",
        default="compiled,python",
        metavar="K,K",
        help="the kernels to measure (compiled,python)",
    )
    b.add_argument(
        "--exhaustive",
        action="store_true",
        help="also the exhaustive runs at 3 and 4 Ps (mixed and syscall-heavy at 3; tight-loop, "
        "yield-pair and spawn-burst at 4): minutes each",
    )
    b.add_argument(
        "--smt", default="", metavar="CORES", help="also BMC per depth and induction, e.g. 2,3,4"
    )
    b.add_argument("--smt-depth", type=_int("--smt-depth", 0), default=12, help="(12)")
    b.add_argument(
        "--against",
        metavar="REV",
        help="instead: the explicit engine here against commit REV, CPU time of the "
        "canonical run, alternating runs (writes bench-against.json)",
    )
    b.add_argument(
        "--smt-budget", type=float, default=600.0, help="seconds of BMC per core count (600)"
    )

    r = sub.add_parser(
        "replay",
        help="replay a trace on the reference runtime's threads (see README)",
        epilog=REPLAY_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("trace", help="an ITF trace written by the checker (or by record)")
    r.add_argument(
        "--correct", action="store_true", help="replay on Go's scheduler, not the mutation"
    )
    r.add_argument("--loops", type=_int("--loops", 1), default=1, help="lasso cycles to replay (1)")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_max_size(r)

    rec = sub.add_parser(
        "record",
        help="run the reference runtime freely on real threads, record and check it",
        epilog=RECORD_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_model_args(rec)
    bound = rec.add_mutually_exclusive_group()
    bound.add_argument(  # not `args.steps`: how long to record is not a model setting
        "--steps", dest="record_steps", type=_int("--steps", 1), default=None, help="steps (1000)"
    )
    bound.add_argument(
        "--seconds", type=float, default=None, help="wall-clock seconds instead of --steps"
    )
    rec.add_argument("--seed", type=_int("--seed", 0), default=1, help="the runtime's choices (1)")
    rec.add_argument("--out", default="reports", help="where the recording goes (reports)")

    from checker.conform import add_parser as add_conform_parser

    add_conform_parser(sub)
    return top


def _version() -> str:
    from checker.itf import VERSION

    return VERSION


def _liveness_config(text: str):
    from checker.bench import liveness_config

    return liveness_config(text)


def _gate_manifest() -> Path:
    return Path(__file__).with_name("gate_manifest.json")


def _probe_dir(d: Path, what: str) -> None:
    """UsageError unless a file can be created in the existing directory d."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=".gmpcheck-probe-", dir=d)
    except OSError as e:
        raise UsageError(f"{what}: cannot write in {d} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)


def _name_lengths(path: Path, what: str) -> None:
    for part in path.parts:
        if len(part.encode()) > 255:
            raise UsageError(f"{what}: a name in the path is longer than 255 bytes")


def check_out_dir(out: str | None, what: str = "--out") -> None:
    """--out names a directory, or a path one can be made at, in which files
    can be written: found before any work, not when the first report is
    written."""
    if not out:
        return
    path = Path(out)
    what = f"{what} {out}"
    _name_lengths(path, what)
    for p in (path, *path.parents):
        if p.is_symlink() and not p.exists():
            raise UsageError(f"{what}: {p} is a dangling symbolic link")
        if p.exists():
            if not p.is_dir():
                raise UsageError(f"{what}: {p} is not a directory")
            _probe_dir(p, what)
            return


def check_output_file(name: str | None, what: str) -> None:
    """An output file named on the command line (--html, --graph, --junit,
    --sarif): a regular file or a new path in a directory that can be
    written, or a device, FIFO or /dev/stdout (written in place)."""
    if not name:
        return
    path = Path(name)
    what = f"{what} {name}"
    _name_lengths(path, what)
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{what}: is a dangling symbolic link")
    if path.is_dir():
        raise UsageError(f"{what}: is a directory")
    if path.exists() and not path.is_file():
        if not os.access(path, os.W_OK):
            raise UsageError(f"{what}: cannot be written")
        return
    check_out_dir(str(path.parent), what.split()[0] + " directory")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
            raise UsageError(f"unknown command {argv[0]!r} (commands: {', '.join(COMMANDS)})")
        if not argv or (argv[0] not in COMMANDS and argv[0] not in TOP_OPTIONS):
            argv.insert(0, "check")
        args = build_parser().parse_args(argv)
        check_out_dir(getattr(args, "out", None))
        for flag in ("html", "graph", "junit", "sarif"):
            check_output_file(getattr(args, flag, None), f"--{flag}")
        if args.command == "check":
            return cmd_check(args)
        if args.command == "prove":
            from checker.smt.prove import cmd_prove

            return cmd_prove(args, make_model(args, symmetry=False))
        if args.command == "list":
            return cmd_list(args)
        if args.command == "view":
            return cmd_view(args)
        if args.command == "gate":
            from checker.gate import cmd_gate

            return cmd_gate(args)
        if args.command == "bench":
            from checker.bench import cmd_bench

            return cmd_bench(args)
        if args.command == "replay":
            from checker.replay.cli import cmd_replay

            return cmd_replay(args)
        if args.command == "record":
            from checker.replay.cli import cmd_record

            return cmd_record(args)
        if args.command == "conform":
            from checker.conform import cmd_conform

            return cmd_conform(args)
        raise UsageError(f"unknown command {args.command!r}")
    except (
        UsageError,
        ConfigError,
        WorkloadError,
        PluginError,
        KernelUnavailable,
        RelationUnsupported,
        TraceFileError,
        GraphError,
        EngineUsageError,
        *InputError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        return report.EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return report.EXIT_INCONCLUSIVE
    except MemoryError:
        from checker.progress import CURRENT

        where = f" during the {CURRENT['phase']}" if CURRENT.get("phase") else ""
        reached = f" after {CURRENT['done']:,} {CURRENT['unit']}" if CURRENT.get("done") else ""
        print(
            f"error: out of memory{where}{reached}; a smaller run: --max-states N, a lower "
            "--depth, fewer --cores or --workers",
            file=sys.stderr,
        )
        return report.EXIT_INCONCLUSIVE
    except BrokenPipeError:
        return report.EXIT_OK
    except Exception as e:  # a bug in gmpcheck: say so in one line, keep the details
        return internal_error(e, getattr(args, "out", None))


def internal_error(e: BaseException, out: str | None) -> int:
    """One line on stderr; the traceback in internal-error.txt under --out (or
    reports), written like every other file (atomically, never through a
    planted link)."""
    from checker.itf import write_atomically

    details = traceback.format_exc()
    where = ""
    for base in (out, "reports"):
        if not base:
            continue
        path = Path(base) / "internal-error.txt"
        try:
            write_atomically(path, details)
            where = f"; details in {path}"
            break
        except OSError:
            continue
    print(f"internal error: {type(e).__name__}: {e}{where}", file=sys.stderr)
    return report.EXIT_INTERNAL


class SearchProgress:
    """The explicit engine's phases on one progress display (checker/progress.py):
    the search's states, rate, depth and frontier, the liveness analysis's
    properties; and before an unbounded search that will not finish soon,
    an estimate of its time and memory (checker/estimate.py), printed once
    unless --quiet, terminal or not."""

    def __init__(self, phases, *, unbounded: bool, quiet: bool):
        self.phases = phases
        self.current = None
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
            from checker.estimate import rss_bytes

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
        from checker.estimate import estimate, machine_memory, rss_bytes, warning

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
    model = make_model(args, symmetry=not args.no_symmetry)
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
    if args.engine != "explicit":
        from checker.smt.cli import cmd_check_engine

        return cmd_check_engine(args, model, props, lambda: explicit_check(args, model, props))
    return explicit_check(args, model, props)["exit_code"]


def explicit_check(args: argparse.Namespace, model, props) -> dict:
    """The explicit engine's run and its printed summary."""
    if args.distributed:
        return distributed_check(args, model, props)
    started = time.monotonic()
    workers = args.workers or default_workers()
    max_states = args.max_states
    if args.graph:
        graph_format(args.graph)  # a bad file name is a usage error before any work
        # Stop one state past the limit: that is enough to know it is too big.
        max_states = min(max_states or GRAPH_MAX_STATES + 1, GRAPH_MAX_STATES + 1)
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
    summary["search"]["kernel"] = run.kernel
    summary["search"]["kernel_note"] = run.kernel_note
    plugin = getattr(model, "plugin", None)
    if plugin is not None and plugin.get("kind") == "model":
        from checker.plugin import label_audit

        summary["plugin_notes"] = label_audit(model)
    summary["result"]["memory"] = report.memory_figures(run)
    summary["result"]["total_s"] = round(time.monotonic() - started, 3)
    if run.live_ex is not None:
        lx = run.live_ex
        summary["result"]["liveness_graph"] = {
            "states": len(lx.states),
            "edges": len(lx.edge_src),
            "expanded": int(sum(lx.is_expanded)),
            "symmetry": False,
            "elapsed_s": round(lx.elapsed, 3) if lx is not run.ex else None,
            "analysis_s": round(run.analysis_s, 3),
        }
    if graph is not None:
        summary["graph"] = {
            "file": args.graph,
            "nodes": graph.number_of_nodes(),
            "edges": graph.number_of_edges(),
        }
    unwritten = [p["write_error"] for p in summary["properties"] if p.get("write_error")]
    unwritten += [graph_error] if graph_error else []
    if unwritten and summary["exit_code"] == report.EXIT_OK:
        summary["exit_code"] = report.EXIT_USAGE  # the run's verdicts stand; a file is missing
    table = None
    if getattr(args, "coverage", False):
        from checker import coverage

        table = coverage.rows(model, coverage.by_kind(model, ex.coverage))
        summary["coverage"] = coverage.as_json(table)
    if args.json:
        if args.engine == "explicit":  # with both, the two summaries are printed together
            print(json.dumps({k: v for k, v in summary.items() if k != "_traces"}, indent=2))
    else:
        lines = report.render_summary(summary, Style(use_color(sys.stdout)))
        if graph is not None:
            lines.insert(
                lines.index(""),
                f"graph     {graph.number_of_nodes():,} states, {graph.number_of_edges():,} "
                f"edges -> {args.graph}",
            )
        if table is not None:
            from checker import coverage

            lines += ["", *coverage.render(table)]
        print_lines(lines)
    for u in unwritten:
        print(f"error: could not write {u}", file=sys.stderr)
    return summary


def distributed_check(args: argparse.Namespace, model, props) -> dict:
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
            progress=progress,
        )  # fmt: skip
    except DistributedError as e:
        print(f"error: --distributed: {e}", file=sys.stderr)
        return {"exit_code": report.EXIT_INCONCLUSIVE}
    finally:
        progress.done()
        phases.close()
    summary = report.summarize(
        model,
        safety,
        ex,
        depth=args.depth,
        workers=ex.partitions,
        symmetry=getattr(model, "symmetry", None) is not None,
        out_dir=Path(args.out),
        all_props=[p for p in properties_of(model) if p.default],
        strict=args.strict,
    )
    summary["result"]["total_s"] = round(time.monotonic() - started, 3)
    summary["search"]["kernel"] = "compiled"
    summary["search"]["kernel_note"] = (
        f"compiled, distributed over {args.distributed} ({ex.partitions} partitions; "
        "liveness is not checked: it needs the whole graph on one machine)"
    )
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "_traces"}, indent=2))
    else:
        print_lines(report.render_summary(summary, Style(use_color(sys.stdout))))
    return summary


def cmd_list(args: argparse.Namespace) -> int:
    from model.mutations import MUTATIONS
    from model.workloads import WORKLOADS
    from specs import all_properties

    data = {
        "workloads": [
            {"name": w.name, "description": w.description, "history": w.history or None}
            for w in WORKLOADS.values()
        ],
        "mutations": [
            {
                "name": m.name,
                "summary": m.summary,
                "history": m.history,
                "benign": m.benign,
                "violates": list(m.violates),
                "check_at": m.check_at,
                "also_violates": list(m.also_violates),
                "also_at": m.also_at or None,
            }
            for m in MUTATIONS.values()
        ],
        "properties": [p.describe() for p in all_properties()],
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    out = ["workloads:"]
    for w in data["workloads"]:
        out.append(f"  {w['name']:<16} {w['description']}")
        if w["history"]:
            out.append(f"  {'':<16} ({w['history']})")
    out.append("")
    out.append("mutations (property it must violate; configuration of its test):")
    for m in data["mutations"]:
        what = "benign: must pass" if m["benign"] else " or ".join(m["violates"])
        at = ", ".join(f"{k} {v}" for k, v in m["check_at"].items())
        out.append(f"  {m['name']:<30} {what}  [{at}]")
        if m["also_violates"]:
            also = ", ".join(f"{k} {v}" for k, v in m["also_at"].items())
            out.append(f"  {'':<30} and {' or '.join(m['also_violates'])}  [{also}]")
        out.append(f"  {'':<30} {m['summary']}; {m['history']}")
    out.append("")
    out.append("properties:")
    for p in data["properties"]:
        out.append(f"  {p['id']:<20} {p['kind']:<9} {p['statement']}")
    print_lines(out)
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    doc = read_trace(args.trace, max_mb=args.max_size)
    if not args.allow_stale:
        require_current_model(doc, args.trace)
    n = len(doc["states"])
    if args.step is not None and args.step >= n:
        raise UsageError(f"--step {args.step}: the trace has steps 0..{n - 1}")
    if args.html:
        from checker.html import write_html

        text_only = [f for f in ("full", "fields", "compact") if getattr(args, f)]
        if text_only:
            raise UsageError(f"--{text_only[0]} is for the text view, not --html")
        out = Path(args.html)
        if out.is_dir():
            raise UsageError(f"--html {args.html}: is a directory")
        try:
            write_html(doc, out, source=Path(args.trace).name, step=args.step)
        except OSError as e:
            raise UsageError(f"--html {args.html}: {e.strerror or e}") from None
        print(f"wrote {out} ({n - 1} steps); open it in a browser")
        return 0
    fields = [f for f in args.fields.split(",") if f.strip()] or None
    lines = render_trace(
        doc,
        style=Style(use_color(sys.stdout)),
        compact=args.compact,
        full=args.full,
        fields=fields,
        only_step=args.step,
    )
    if args.no_pager:
        print_lines(lines)
    else:
        page_lines(lines)
    return 0
