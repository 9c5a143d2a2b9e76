"""`python -m checker replay TRACE` and `python -m checker record ...`: the
reference runtime (runtime/) driven through a trace, or run freely and
checked by the model (checker/replay/)."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from checker.app.args import (
    _add_max_size,
    _add_model_args,
    _int,
    add_command,
    config_from_args,
)
from checker.errors import UsageError
from checker.files import write_atomically
from checker.progress import announce
from checker.replay.conform import Divergence
from checker.replay.record import check, record, recording_document
from checker.replay.replay import ReplayError, replay
from checker.results import ReplaySummary, print_json
from checker.views import report
from checker.views.itf import VERSION, read_trace, write_trace
from checker.views.render import Style, escape_text, print_lines, use_color
from model.factory import build_model
from runtime.factory import build_runtime
from runtime.threads import PCT_DEPTH, SCHEDULERS

MAX_RECORD_STEPS = 20_000  # a recording longer than this is cut (its file would be huge)
DEFAULT_RECORD_STEPS = 1_000
MAX_PCT_DEPTH = 100  # PCT's priority change points, at the most

STOPPED_TEXT = {
    "steps": "the step bound was reached",
    "seconds": "the time bound was reached",
    "quiescent": "every thread went idle (parked, or waiting on a bound)",
    "throw": "the runtime threw",
    "error": "a runtime thread raised",
    "hung": "the runtime hung",
    "interrupted": "interrupted (Ctrl-C)",
}


RUNTIME_TEXT = {"go1.25": "Go 1.25 scheduler", "go1.26": "Go 1.26 scheduler (no _Psyscall)"}


REPLAY_EXIT_CODES = """exit codes:
  0   every step replayed in step with the trace (a violation it shows is
      then reproduced on real threads)
  2   the trace is malformed, truncated, or of another configuration or model
      version (either profile replays: go1.25, and go1.26 without _Psyscall)
  4   interrupted (Ctrl-C, SIGTERM, SIGHUP)
  5   the runtime parts ways with the trace (the first step and the fields)
  70  a runtime thread raised or hung (the scheduler's state is printed)"""

RECORD_EXIT_CODES = """exit codes:
  0   the recording is accepted by the model: every step enabled, every state equal
  1   accepted, but a safety property is violated along it (a mutation)
  2   usage error (either profile records: go1.25, and go1.26 without _Psyscall)
  4   interrupted (Ctrl-C, SIGTERM, SIGHUP): the steps so far are kept and checked
  5   not accepted: the first step the model does not allow, the fields that differ
  70  a runtime thread raised (the recording up to it is kept) or the runtime hung"""


def register_replay(sub) -> Callable[[argparse.Namespace], int]:
    r = add_command(
        sub,
        "replay",
        "replay a trace on the reference runtime's threads (see README)",
        REPLAY_EXIT_CODES,
    )
    r.add_argument("trace", help="an ITF trace written by the checker (or by record)")
    r.add_argument(
        "--correct", action="store_true", help="replay on Go's scheduler, not the mutation"
    )
    r.add_argument("--loops", type=_int("--loops", 1), default=1, help="lasso cycles to replay (1)")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_max_size(r)
    return cmd_replay


def register_record(sub) -> Callable[[argparse.Namespace], int]:
    rec = add_command(
        sub,
        "record",
        "run the reference runtime freely on real threads, record and check it",
        RECORD_EXIT_CODES,
    )
    _add_model_args(rec)
    bound = rec.add_mutually_exclusive_group()
    bound.add_argument(  # not `args.steps`: how long to record is not a model setting
        "--steps", dest="record_steps", type=_int("--steps", 1), default=None, help="steps (1000)"
    )
    bound.add_argument(
        "--seconds", type=float, default=None, help="wall-clock seconds instead of --steps"
    )
    rec.add_argument(
        "--seed",
        type=_int("--seed", 0),
        default=1,
        help="the free run's scheduler and the runtime's choices (1)",
    )
    rec.add_argument(
        "--scheduler",
        choices=SCHEDULERS,
        default="random",
        help="how the free run picks the next thread: a seeded random pick at every point, "
        "or PCT (probabilistic concurrency testing: random priorities, the highest thread "
        "with a step goes, lowered at a few random steps) (random)",
    )
    rec.add_argument(
        "--pct-depth",
        type=_int("--pct-depth", 0, MAX_PCT_DEPTH),
        default=None,
        metavar="D",
        help=f"with --scheduler pct: the priority change points, placed at random among "
        f"the steps ({PCT_DEPTH}; 0 to {MAX_PCT_DEPTH})",
    )
    rec.add_argument("--out", default="reports", help="where the recording goes (reports)")

    return cmd_record


def _runtime_text(cfg: dict) -> str:
    return RUNTIME_TEXT[cfg.get("profile") or "go1.25"]


def _model_line(cfg: dict) -> str:
    return (
        f"model     workload {cfg['workload']}, cores {cfg['cores']}, max Ms {cfg['max_ms']}, "
        f"ring {cfg['ring']}, period {cfg['period']}, async preemption "
        f"{'on' if cfg['async_preempt'] else 'off'}"
        + (f", profile {cfg['profile']}" if cfg.get("profile", "go1.25") != "go1.25" else "")
        + (
            f", plug-in {cfg['plugin']}"
            if cfg.get("plugin")
            else (f", mutation {cfg['mutation']}" if cfg.get("mutation") else "")
        )
    )


def _internal(message: str, details: str, out: str = "reports") -> int:
    path = Path(out) / "internal-error.txt"
    try:
        write_atomically(path, details)
        message += f"; details in {path}"
    except OSError:
        pass
    print(f"internal error: {message}", file=sys.stderr)
    return report.EXIT_INTERNAL


# ---- replay ---------------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    if args.loops < 1:
        raise UsageError("--loops must be at least 1")
    try:
        doc = read_trace(args.trace, max_mb=args.max_size)
    except OSError as e:  # a directory, no permission...
        raise UsageError(f"{args.trace}: {e.strerror or e}") from None
    try:
        res = replay(doc, correct=args.correct, loops=args.loops)
    except ReplayError as e:
        return _internal(f"the runtime failed during the replay: {e}", traceback.format_exc())
    code = report.EXIT_REPLAY if res.divergence else report.EXIT_OK
    if args.json:
        print_json(_replay_summary(args, res, code))
        return code
    print_lines(_replay_lines(args, doc, res))
    return code


def _replay_summary(args: argparse.Namespace, res, code: int) -> ReplaySummary:
    return ReplaySummary(
        trace=str(args.trace),
        runtime_mutation=res.mutation or None,
        plugin=res.plugin or None,
        steps=res.planned,
        replayed=res.steps,
        cycles=res.cycles,
        stutters=res.stutters,
        fine_steps=res.fine_steps,
        threads=res.threads,
        elapsed_s=round(res.elapsed, 3),
        divergence=res.divergence.as_dict() if res.divergence else None,
        property=res.property,
        reproduced=res.reproduced,
        exit_code=code,
    )


def _replay_lines(args: argparse.Namespace, doc: dict, res) -> list[str]:
    """The replay's report: the trace, the runtime, and where it parted ways
    with the trace or what it reproduced."""
    style = Style(use_color(sys.stdout))
    g = doc["#meta"]["gmpcheck"]
    out = [
        style.bold(f"gmpcheck {VERSION} — replay on real threads"),
        f"trace     {args.trace} ({g.get('engine')} engine, {len(doc['states']) - 1} steps"
        + (f", lasso back to step {doc['loop']}" if doc.get("loop") is not None else "")
        + ")",
        _model_line(g["config"]),
        f"runtime   {'mutation ' + res.mutation if res.mutation else _runtime_text(g['config'])}"
        + (" (--correct)" if args.correct and not res.plugin else "")
        + f" on {len(res.threads)} threads ({', '.join(res.threads)})",
    ]
    if res.plugin:
        out.insert(
            3,
            f"plug-in   {res.plugin}: no runtime twin, so Go's own scheduler runs; the first "
            "step it does not take as the trace does is where the plug-in's change shows",
        )
    if res.divergence is not None:
        out.append(
            f"replayed  {res.steps} of {res.planned} steps in step with the trace, "
            f"{res.elapsed:.2f} s"
        )
        lines = [escape_text(line) for line in res.divergence.lines()]
        out += [style.red(line) if i == 0 else line for i, line in enumerate(lines)]
        return out
    rate = res.steps / max(res.elapsed, 1e-9)
    out.append(
        f"replayed  {res.steps} of {res.planned} steps in {res.elapsed:.2f} s ({rate:,.0f} "
        "steps/s): after every step the runtime's state equals the trace's"
    )
    if res.fine_steps != res.steps:
        out.append(f"          (macro steps: {res.fine_steps} steps of the runtime's threads)")
    if res.stutters:
        out.append(
            f"lasso     it stutters at step {doc['loop']}: no fair step leaves that state "
            f"({g.get('loop_action', '').strip('()')})"
        )
    elif res.cycles:
        out.append(f"lasso     the cycle ran {res.cycles} time(s) on real threads")
    if res.reproduced:
        out.append(style.red(f"reproduced on real threads: {res.property}: {res.reproduced}"))
    elif res.property:
        out.append(f"{res.property}: {res.message}")
    return out


# ---- record ---------------------------------------------------------------------------


def cmd_record(args: argparse.Namespace) -> int:
    if args.model:
        raise UsageError("--model: the runtime runs Go's scheduler or a registered mutation")
    cfg, _ = config_from_args(args)
    steps = _steps_bound(args)
    depth = _pct_depth(args)
    model = build_model(cfg, symmetry=False)
    rt = build_runtime(cfg, seed=args.seed, scheduler=args.scheduler, pct_depth=depth)
    announce("recording")
    rec = record(rt, steps=steps if steps is not None else MAX_RECORD_STEPS, seconds=args.seconds)
    run = rec.run
    assert run is not None
    check_interrupted = False
    try:
        announce("record check")
        divergence, violation = check(model, rec)
    except KeyboardInterrupt:
        # The run cannot be repeated: keep the recording, unchecked.
        divergence, violation, check_interrupted = None, None, True
    error, error_trace = None, ""
    if rt.error is not None:
        who, exc, error_trace = rt.error
        error = f"{who}: {type(exc).__name__}: {exc}"
    doc = recording_document(
        model,
        rec,
        seed=args.seed,
        scheduler=args.scheduler,
        pct_depth=depth if args.scheduler == "pct" else None,
        divergence=divergence,
        violation=violation,
        error=error,
        checked=not check_interrupted,
    )
    path = _recording_path(args, model, depth)
    write_trace(path, doc)

    style = Style(use_color(sys.stdout))
    how = f"seed {args.seed}" + (f", PCT depth {depth}" if args.scheduler == "pct" else "")
    out = _run_lines(style, how, doc, rec, rt, path)
    if error is not None:
        print_lines(out)
        return _internal(
            f"runtime thread {error} (the recording up to it is saved in {path})",
            error_trace,
            args.out,
        )
    if run.stopped == "hung":
        print_lines(out)
        return _internal(
            f"the runtime hung (the recording is saved in {path})",
            "\n".join(run.dump or []),
            args.out,
        )
    code = report.EXIT_INCONCLUSIVE if run.stopped == "interrupted" else report.EXIT_OK
    if check_interrupted:
        out.append(
            style.yellow(
                "check     interrupted: the recording is kept, not checked (check it again "
                f"with `python -m checker replay {path}`)"
            )
        )
        print_lines(out)
        return report.EXIT_INCONCLUSIVE
    if divergence is not None:
        out.append(style.red("check     NOT accepted by the model"))
        out += _indent(divergence)
        code = report.EXIT_REPLAY
    else:
        out.append(
            style.green("check     accepted by the model: every step enabled, every state equal")
        )
        if violation is not None:
            step, pid, msg = violation
            out.append(style.red(f"property  {pid} violated at step {step}: {msg}"))
            code = report.EXIT_SAFETY
    print_lines(out)
    return code


def _steps_bound(args: argparse.Namespace) -> int | None:
    """How many steps to record (None: --seconds bounds the run)."""
    steps = args.record_steps
    if steps is None and args.seconds is None:
        steps = DEFAULT_RECORD_STEPS
    if steps is not None and steps > MAX_RECORD_STEPS:
        raise UsageError(f"--steps must be at most {MAX_RECORD_STEPS:,}")
    if args.seconds is not None and not args.seconds > 0:
        raise UsageError("--seconds must be positive")
    return steps


def _recording_path(args: argparse.Namespace, model, depth: int) -> Path:
    """record-<workload>-c<cores>[-<mutation>][-<settings not the default>][-pct<D>]-seed<X>"""
    name = report.trace_name(model, "record").removesuffix(".itf.json")
    if args.scheduler == "pct":
        name += f"-pct{depth}"
    return Path(args.out) / f"{name}-seed{args.seed}.itf.json"


def _pct_depth(args: argparse.Namespace) -> int:
    """PCT's priority change points; --pct-depth goes with --scheduler pct."""
    if args.pct_depth is None:
        return PCT_DEPTH
    if args.scheduler != "pct":
        raise UsageError("--pct-depth goes with --scheduler pct")
    return int(args.pct_depth)


def _run_lines(style: Style, how: str, doc: dict, rec, rt, path: Path) -> list[str]:
    """The free run (`how`: its seed and scheduler): its model, its rate and
    threads, how it ended, the file."""
    run = rec.run
    elapsed = max(run.elapsed, 1e-9)
    threads = sum(1 for mp in rt.allm if mp.thread is not None)
    out = [
        style.bold(f"gmpcheck {VERSION} — free run on real threads"),
        _model_line(doc["#meta"]["gmpcheck"]["config"]),
        f"run       {how}: {run.steps:,} steps in {run.elapsed:.2f} s "
        f"({run.steps / elapsed:,.0f} steps/s) on {threads} threads; ended: "
        f"{STOPPED_TEXT.get(run.stopped, run.stopped)}",
    ]
    if rec.cut:
        out.append(f"recorded  {len(rec.steps):,} steps ({rec.cut})")
    out.append(f"recording {path}")
    if run.dump:
        out += ["scheduler state when the run was stopped:"] + [f"  {x}" for x in run.dump]
    return out


def _indent(d: Divergence) -> list[str]:
    return [f"  {line}" for line in d.lines()]
