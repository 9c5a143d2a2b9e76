"""`python -m checker [COMMAND] ...`: the parser, built from every command's
registration, and the one dispatch: a command's handler returns its exit
code; a usage or input error is one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from checker.app import check, commands, conform, replay
from checker.app.args import EXIT_CODES, Parser
from checker.app.outputs import check_out_dir, check_output_file
from checker.engine.graph import GraphError
from checker.errors import UsageError
from checker.golang.conform import ConformError
from checker.golang.gotool import GoToolError
from checker.golang.gotrace import TraceFormatError
from checker.kernel import KernelUnavailable
from checker.plugin import PluginError, raised_in_plugin
from checker.signals import caused_by_interrupt
from checker.smt.cli import EngineUsageError
from checker.smt.relation import RelationUnsupported
from checker.views import report
from checker.views.itf import TraceFileError
from checker.views.render import escape_text
from model.config import ConfigError
from model.machine import PluginStepError
from model.workloads import WorkloadError

COMMANDS = ("check", "list", "view", "gate", "bench", "replay", "record", "prove", "conform")
TOP_OPTIONS = ("-h", "--help", "--version")


InputError = (GoToolError, TraceFormatError, ConformError)  # conform's bad input: exit 2

# Each command adds its parser to the subparsers and returns its handler, in
# the order `--help` lists them.
REGISTRATIONS: tuple[tuple[str, Callable], ...] = (
    ("check", check.register),
    ("prove", commands.register_prove),
    ("list", commands.register_list),
    ("view", commands.register_view),
    ("gate", commands.register_gate),
    ("bench", commands.register_bench),
    ("replay", replay.register_replay),
    ("record", replay.register_record),
    ("conform", conform.register),
)


def build_parser() -> Parser:
    return _build()[0]


def _build() -> tuple[Parser, dict[str, Callable[[argparse.Namespace], int]]]:
    top = Parser(
        prog="python -m checker",
        description="gmpcheck: a model checker for the Go scheduler's G-M-P design.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"gmpcheck {_version()}")
    sub = top.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    handlers = {name: register(sub) for name, register in REGISTRATIONS}
    return top, handlers


def _version() -> str:
    from checker.views.itf import VERSION

    return VERSION


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
            raise UsageError(f"unknown command {argv[0]!r} (commands: {', '.join(COMMANDS)})")
        if not argv or (argv[0] not in COMMANDS and argv[0] not in TOP_OPTIONS):
            argv.insert(0, "check")
        parser, handlers = _build()
        args = parser.parse_args(argv)
        check_out_dir(getattr(args, "out", None))
        for flag in ("html", "graph", "junit", "sarif"):
            check_output_file(getattr(args, flag, None), f"--{flag}")
        if args.command in handlers:
            return handlers[args.command](args)
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
        # The message may quote the input (a trace's label): its control
        # characters are shown escaped, never sent to the terminal.
        text = "\n".join(escape_text(line) for line in str(e).split("\n"))
        print(f"error: {text}", file=sys.stderr)
        return report.EXIT_USAGE
    except SystemExit as e:  # argparse's own (--help, a usage error), or a plug-in's
        code = _plugin_failure(e, args)
        if code is None:
            raise
        return code
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
        if caused_by_interrupt(e):  # a stop signal, wrapped as a module was imported
            print("interrupted", file=sys.stderr)
            return report.EXIT_INCONCLUSIVE
        code = _plugin_failure(e, args)
        return internal_error(e, getattr(args, "out", None)) if code is None else code


def _plugin_failure(e: BaseException, args: argparse.Namespace | None) -> int | None:
    """With a plug-in loaded (`--model`), what went wrong is the plug-in's
    input rather than a bug in gmpcheck: its code raised or called sys.exit,
    its step left what the model cannot use, or the model's code failed on
    what it changed. One line, exit 2; None without a plug-in, or for a
    SystemExit that is not the plug-in's."""
    plugin = getattr(args, "model", None)
    if not plugin:
        return None
    where = raised_in_plugin(e, plugin)
    if isinstance(e, SystemExit):
        if not where:
            return None
        said = f"its code called sys.exit({e.code!r}) (at {where})"
    elif isinstance(e, PluginStepError):
        said = str(e)
    elif where:
        said = f"its code raised {type(e).__name__}: {e} (at {where})"
    else:
        # The model's code failed on what the plug-in changed (choices that
        # are not choices, a helper's result of another kind): said as such,
        # with the details kept.
        said = "the model failed on what the plug-in changed"
        internal_error(
            e, getattr(args, "out", None), escape_text(f"error: --model {plugin}: {said}")
        )
        return report.EXIT_USAGE
    print(f"error: {escape_text(f'--model {plugin}: {said}')}", file=sys.stderr)
    return report.EXIT_USAGE


def internal_error(e: BaseException, out: str | None, headline: str = "internal error") -> int:
    """One line on stderr; the traceback in internal-error.txt under --out (or
    reports), written like every other file (atomically, never through a
    planted link)."""
    from checker.files import write_atomically

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
    print(f"{headline}: {type(e).__name__}: {e}{where}", file=sys.stderr)
    return report.EXIT_INTERNAL
