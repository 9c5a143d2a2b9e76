"""The subcommands that hand their work to one module each: prove (checker/smt),
list, view (checker/views), gate (checker/gate) and bench (checker/bench)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checker.app.args import (
    EXIT_CODES,
    _add_max_size,
    _add_model_args,
    _int,
    add_command,
    make_model,
)
from checker.errors import UsageError
from checker.results import print_json
from checker.views.itf import read_trace, require_current_model
from checker.views.render import Style, page_lines, print_lines, render_trace, use_color

Handler = Callable[[argparse.Namespace], int]


def register_prove(sub) -> Handler:
    pv = add_command(
        sub, "prove", "k-induction of the safety invariants with z3 (docs/smt.md)", EXIT_CODES
    )
    _add_model_args(pv)
    pv.add_argument("--k", type=_int("--k", 1), default=1, help="induction depth (1)")
    pv.add_argument(
        "--solver-timeout", type=float, default=0.0, metavar="SECONDS", help="per query (none)"
    )
    pv.add_argument("--out", default="reports", help="where counterexamples to induction go")
    pv.add_argument("--json", action="store_true", help="print the result as JSON")
    pv.add_argument("--quiet", action="store_true", help="no progress line on stderr")

    def cmd_prove(args: argparse.Namespace) -> int:
        from checker.smt.prove import cmd_prove

        return cmd_prove(args, make_model(args, symmetry=False))

    return cmd_prove


def register_list(sub) -> Handler:
    lst = sub.add_parser("list", help="workloads, mutations and properties")
    lst.add_argument("--json", action="store_true", help="print them as JSON")
    return cmd_list


def register_view(sub) -> Handler:
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
    return cmd_view


def register_gate(sub) -> Handler:
    gt = add_command(
        sub, "gate", "the CI gate: the matrix of verdicts and the manifest of counts", EXIT_CODES
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

    def cmd_gate(args: argparse.Namespace) -> int:
        from checker.gate.gate import cmd_gate

        return cmd_gate(args)

    return cmd_gate


def register_bench(sub) -> Handler:
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

    def cmd_bench(args: argparse.Namespace) -> int:
        from checker.bench.search import cmd_bench

        return cmd_bench(args)

    return cmd_bench


def _liveness_config(text: str):
    from checker.bench.search import liveness_config

    return liveness_config(text)


def _gate_manifest() -> Path:
    return Path(__file__).parents[1] / "gate" / "gate_manifest.json"


def cmd_list(args: argparse.Namespace) -> int:
    from model.mutations import MUTATIONS
    from model.workloads import WORKLOADS
    from specs import all_properties

    data: dict[str, Any] = {
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
        print_json(data)
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
        from checker.views.html import write_html

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
