"""`python -m checker gate`: the CI invariant gate.

A fixed matrix of check runs ("cells"), each with the verdicts it must give:

  safety     Go's scheduler at `--cores 2, 3, 4 --depth 12` (fine steps,
             symmetry): every safety property passes.
  liveness   Go's scheduler exhaustively (`--depth 0 --steps macro`) on
             workloads at `--cores 2` and `3`: every liveness property passes
             (or does not apply), and every safety property too.
  finding    what the checker reports about Go itself (docs/findings.md): the
             verdict it must keep giving until the finding is fixed.
  mutation   every bug in the registry, at its own configuration: the property
             it declares fails.
  benign     every benign variant: nothing fails.
  smt        the z3 engine (bounded model checking) on Go's scheduler at
             `--cores 2 --depth 8`, and on every safety mutation whose
             counterexample it reaches in the gate's time: the same verdict.
  proof      `prove --cores 2`: k-induction proves no-lost-g, p-ownership
             and spinning-accounting for every reachable state.

`--full` adds the exhaustive liveness cells at 3 and 4 Ps (FULL_LIVENESS_
CONFIGS: minutes and gigabytes each, so not on every CI run).

The safety and liveness cells named `go1.26` check the go1.26 profile (the
system-call path without _Psyscall, model/go126.py); the others the default
go1.25 profile.

The distinct-state and transition counts of every run of Go's scheduler must
equal the committed manifest (checker/gate/gate_manifest.json): a model change
that changes a count fails the gate with a diff until `--update-manifest`
records it, so that such changes are seen in review.

Cells run in `--workers` processes, one cell each; nothing in the output
depends on which process ran what, or on the hash seed.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from checker.files import write_atomically
from checker.views.itf import write_trace
from checker.views.render import render_trace
from checker.views.report import (
    EXIT_INCONCLUSIVE,
    EXIT_LIVENESS,
    EXIT_MANIFEST,
    EXIT_OK,
    EXIT_SAFETY,
    EXIT_USAGE,
)
from specs import properties_of

MANIFEST = Path(__file__).with_name("gate_manifest.json")
MANIFEST_SCHEMA = "gmpcheck.gate-manifest/1"
MACRO = {"steps": "macro", "period": 2}


class GateError(Exception):
    """The gate cannot run (bad manifest file...): exit 2."""


@dataclass(frozen=True)
class Cell:
    id: str
    kind: str  # safety | liveness | finding | mutation | benign | smt | proof
    config: dict  # Config fields, plus "depth" (not for a proof)
    expect: dict[str, str]  # property -> "pass" | "fail" | "n/a" | "proved"; "*": all pass
    props: tuple[str, ...] = ()  # () = every default property
    counted: bool = True  # its counts are in the manifest
    quick: bool = False
    full: bool = False  # run only by `gate --full` (minutes each)


@dataclass
class CellResult:
    cell: Cell
    verdicts: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    ok: bool = True
    problem: str = ""
    exit_code: int = EXIT_OK
    elapsed: float = 0.0
    trace: str = ""
    excerpt: list[str] = field(default_factory=list)
    location: tuple[str, int] | None = None
    failed_property: str = ""
    # Go's scheduler (no mutation): the steps the cell took, (actor kind, pc
    # name) -> states, and the profile they belong to.
    coverage: dict[tuple[str, str], int] | None = None
    profile: str = ""


def matrix() -> list[Cell]:
    from model.mutations import MUTATIONS

    cells: list[Cell] = []
    for cores in (2, 3, 4):
        cells.append(
            Cell(
                f"safety/mixed/c{cores}/d12",
                "safety",
                {"cores": cores, "depth": 12},
                {"*": "pass"},
                props=SAFETY_IDS,
                quick=cores == 2,
            )
        )
    for workload, cores in LIVENESS_CONFIGS:
        cells.append(
            Cell(
                f"liveness/{workload}/c{cores}",
                "liveness",
                {"cores": cores, "workload": workload, "depth": 0, **MACRO},
                {"*": "pass"},
                quick=(workload, cores) == ("tight-loop", 2),
            )
        )
    # The exhaustive verdicts at 3 and 4 Ps that the compiled kernel reaches
    # (minutes and gigabytes each): `gate --full` only.
    for workload, cores in FULL_LIVENESS_CONFIGS:
        cells.append(
            Cell(
                f"liveness/{workload}/c{cores}",
                "liveness",
                {"cores": cores, "workload": workload, "depth": 0, **MACRO},
                {"*": "pass"},
                full=True,
            )
        )
    # The go1.26 profile (model/go126.py: system calls keep the P, no
    # _Psyscall), the scheduler `conform` checks real traces against.
    for workload, cores in (("syscall-heavy", 2), ("syscall-heavy", 3), ("mixed", 2)):
        cells.append(
            Cell(
                f"safety/go1.26/{workload}/c{cores}/d12",
                "safety",
                {"cores": cores, "workload": workload, "profile": "go1.26", "depth": 12},
                {"*": "pass"},
                props=SAFETY_IDS,
            )
        )
    cells.append(
        Cell(
            "liveness/go1.26/syscall-heavy/c1",
            "liveness",
            {"cores": 1, "workload": "syscall-heavy", "profile": "go1.26", "depth": 0, **MACRO},
            {"*": "pass"},
        )
    )
    # The paths the cells above do not reach (the coverage check below): the
    # ring overflowing into the global queue and global batches of two (a
    # ring of 4), a spinning M's re-check finding work on another P (fine
    # steps, 34 deep), handoffp idling the P under the lock in Go 1.26.
    for profile in COVERAGE_PROFILES:
        on = {} if profile == "go1.25" else {"profile": profile}
        tag = "" if profile == "go1.25" else "go1.26/"
        rings = (2, 4) if profile == "go1.25" else (4,)
        for ring in rings:
            cells.append(
                Cell(
                    f"liveness/{tag}spawn-overflow/c1" + ("" if ring == 2 else f"/ring{ring}"),
                    "liveness",
                    {"cores": 1, "workload": "spawn-overflow", "ring": ring, **on, "depth": 0,
                     **MACRO},
                    {"*": "pass"},
                )
            )  # fmt: skip
        cells.append(
            Cell(
                f"safety/{tag}spawn-burst/c2/d34",
                "safety",
                {"cores": 2, "workload": "spawn-burst", **on, "depth": 34},
                {"*": "pass"},
                props=SAFETY_IDS,
            )
        )
    cells.append(
        Cell(
            "liveness/go1.26/syscall-heavy/c2",
            "liveness",
            {"cores": 2, "workload": "syscall-heavy", "profile": "go1.26", "depth": 0, **MACRO},
            {"*": "pass"},
        )
    )
    cells.append(
        Cell(
            "finding/work-conservation-strict/c4/d12",
            "finding",
            {"cores": 4, "depth": 12},
            {"work-conservation-strict": "fail"},
            props=("work-conservation-strict",),
            counted=False,
        )
    )
    cells.append(
        Cell(
            "finding/spawn-chain/c1",
            "finding",
            {"cores": 1, "workload": "spawn-chain", "depth": 0, **MACRO},
            {"no-starvation": "fail"},
            props=("no-starvation",),
            quick=True,
        )
    )
    for m in MUTATIONS.values():
        cfg = {"mutation": m.name, **m.check_at}
        if m.benign:
            cells.append(
                Cell(f"benign/{m.name}", "benign", cfg, {"*": "pass"}, props=SAFETY_IDS,
                     counted=False)
            )  # fmt: skip
        else:
            for k, (props, at) in enumerate(m.checks()):
                cells.append(
                    Cell(
                        f"mutation/{m.name}" + (f"/{'+'.join(props)}" if k else ""),
                        "mutation",
                        {"mutation": m.name, **at},
                        {p: "fail" for p in props},
                        props=tuple(props),
                        counted=False,
                        quick=m.name in QUICK_MUTATIONS and not k,
                    )
                )
    # The second engine (bounded model checking with z3) on the same model:
    # Go's scheduler to a depth, and every safety mutation whose shortest
    # counterexample is within its reach (docs/smt.md has the curve).
    cells.append(
        Cell(
            f"smt/safety/mixed/c2/d{SMT_DEPTH}",
            "smt",
            {"cores": 2, "depth": SMT_DEPTH},
            {"*": "pass"},
            props=SAFETY_IDS,
            counted=False,
        )
    )
    for m in MUTATIONS.values():
        if m.benign or not _smt_reaches(m.check_at) or set(m.violates) - set(SAFETY_IDS):
            continue
        cells.append(
            Cell(
                f"smt/mutation/{m.name}",
                "smt",
                {"mutation": m.name, **m.check_at},
                {p: "fail" for p in m.violates},
                props=tuple(m.violates),
                counted=False,
            )
        )
    # k-induction: the targets hold at every depth, not only to the depth bound.
    from checker.smt.induction import TARGETS as PROOF_TARGETS

    cells.append(
        Cell(
            "proof/mixed/c2",
            "proof",
            {"cores": 2},
            {p: "proved" for p in PROOF_TARGETS},
            props=PROOF_TARGETS,
            counted=False,
        )
    )
    return cells


def _smt_reaches(at: dict) -> bool:
    """A configuration BMC decides in the gate's time: fine steps, at most
    two cores and 16 steps."""
    return at.get("steps", "fine") == "fine" and at["cores"] <= 2 and 0 < at["depth"] <= 16


SMT_DEPTH = 8
SAFETY_IDS = (
    "no-lost-g",
    "p-ownership",
    "spinning-accounting",
    "status-transitions",
    "no-checkdead",
    "work-conservation",
    "m-accounting",
    "spinning-policy",
    "queue-bounds",
    "deadlock",
)
# The exhaustive liveness configurations (macro steps, period 2), each small
# enough for the gate's ten minutes on two cores; docs/findings.md and the
# README list the larger ones run by hand.
LIVENESS_CONFIGS = [
    ("tight-loop", 2),
    ("tight-loop", 3),
    ("gosched-starve", 2),
    ("gosched-starve", 3),
    ("yield-pair", 2),
    ("yield-pair", 3),
    ("pingpong-hog", 2),
    ("pingpong-hog", 3),
    ("spawn-burst", 2),
    ("syscall-heavy", 1),
    ("syscall-heavy", 2),
    ("mixed", 1),
    ("mixed", 2),
]
# Exhaustive liveness configurations beyond the default gate's time (each
# several minutes on two cores; docs/findings.md has the figures).
FULL_LIVENESS_CONFIGS = [
    ("spawn-burst", 3),
    ("syscall-heavy", 3),
    ("mixed", 3),
    ("tight-loop", 4),
    ("yield-pair", 4),
    ("spawn-burst", 4),
]
QUICK_MUTATIONS = {"no-needspinning", "steal-not-atomic", "runnext-no-inherit"}


# ---- running one cell ---------------------------------------------------------


def run_cell(cell: Cell, out_dir: Path | None = None) -> CellResult:
    """Run one cell as `python -m checker` would (with `--engine smt` for an
    smt cell) and judge its verdicts; a wrong cell's counterexample is
    written to `out_dir` (if given)."""
    from model.config import Config
    from model.factory import build_model

    start = time.monotonic()
    if cell.kind == "proof":
        return _run_proof(cell, start)
    cfg = dict(cell.config)
    depth = cfg.pop("depth")
    smt = cell.kind == "smt"
    model = build_model(Config(**cfg), symmetry=not smt)
    props = [p for p in properties_of(model) if (p.id in cell.props if cell.props else p.default)]
    res = CellResult(cell)
    if smt:
        summary, steps_of = _smt_summary(model, props, depth, res)
    else:
        summary, steps_of = _explicit_summary(model, props, depth, res)
    for entry in summary["properties"]:
        v = entry["verdict"]
        res.verdicts[entry["id"]] = {"not-applicable": "n/a"}.get(v, v)
    _judge(res)
    # The counterexample that matters: an unexpected failure's, else the
    # first failure (an expected one).
    failed = [p for p, v in res.verdicts.items() if v == "fail"]
    unexpected = [p for p in failed if cell.expect.get(p) != "fail"]
    if failed:
        res.failed_property = (unexpected or failed)[0]
        doc = summary["_traces"][res.failed_property]
        res.excerpt = render_trace(doc, compact=True, head=2, tail=6)
        res.location = _step_location(model, steps_of(res.failed_property))
        if not res.ok and out_dir is not None:
            path = out_dir / f"{cell.id.replace('/', '-')}.itf.json"
            write_trace(path, doc)
            res.trace = str(path)
    res.elapsed = time.monotonic() - start
    return res


def _run_proof(cell: Cell, start: float) -> CellResult:
    """k-induction as `prove` runs it; a target not proved names the
    candidates its counterexample to induction breaks."""
    from checker.smt.induction import proof_invariants, prove
    from model.config import Config
    from model.factory import build_model

    model = build_model(Config(**cell.config), symmetry=False)
    proof = prove(model, proof_invariants(model), k=1)
    res = CellResult(cell)
    res.verdicts = {p: proof.verdict(p) for p in cell.props}
    _judge(res)
    if not res.ok:
        why = [f"{p}: {proof.base_failed[p]}" for p in cell.props if p in proof.base_failed]
        why += [
            f"{p}: counterexample to induction breaks {', '.join(proof.not_proved[p].broken)}"
            for p in cell.props
            if p in proof.not_proved
        ]
        if proof.unknown:
            why.append(f"the solver gave no answer: {proof.unknown}")
        if why:
            res.problem += "; " + "; ".join(why)
    res.elapsed = time.monotonic() - start
    return res


def _explicit_summary(model: Any, props: list, depth: int, res: CellResult):
    """The explicit engine's run: its summary (as `check` prints it), the
    counts of the manifest, and each failure's steps."""
    from checker.engine.trace import rebuild
    from checker.run import run_check
    from checker.views.report import summarize

    run = run_check(model, props, depth=depth)
    ex = run.ex
    res.counts = {"states": len(ex.states), "transitions": ex.transitions}
    if not model.cfg.mutation:
        from checker.engine.coverage import by_kind

        res.coverage = by_kind(model, ex.coverage)
        res.profile = model.cfg.profile
    if run.live_ex is not None and run.live_ex is not ex:
        res.counts["liveness_states"] = len(run.live_ex.states)
        res.counts["liveness_edges"] = len(run.live_ex.edge_src)
    summary = summarize(
        model, props, ex, depth=depth, workers=1, symmetry=run.symmetry, out_dir=None,
        liveness=run.liveness,
    )  # fmt: skip

    def steps_of(pid: str) -> list:
        if pid in run.liveness:
            return run.liveness[pid].steps
        prop = next(p for p in props if p.id == pid)
        return rebuild(model, ex, ex.violations[pid], prop)

    return summary, steps_of


def _smt_summary(model: Any, props: list, depth: int, res: CellResult):
    """Bounded model checking of the same properties (`--engine smt`)."""
    from checker.smt.bmc import run_bmc
    from checker.smt.summary import summarize_bmc

    bmc = run_bmc(model, props, depth)
    summary = summarize_bmc(model, props, bmc, out_dir=None)
    return summary, lambda pid: bmc.findings[pid].steps


def _step_location(model: Any, steps: list) -> tuple[str, int] | None:
    """Where the model defines the step the counterexample's last action ran."""
    import inspect

    if len(steps) < 2:
        return None
    prev = steps[-2].state
    actor = steps[-1].actor
    entry = model._dispatch[prev[model.L.pc[actor]]]
    if entry is None:
        return None
    fn = getattr(entry[0], "__func__", entry[0])
    try:
        path = Path(inspect.getsourcefile(fn)).resolve()
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return None
    root = Path(__file__).resolve().parents[2]
    try:
        return str(path.relative_to(root)), line
    except ValueError:
        return str(path), line


def _judge(res: CellResult) -> None:
    cell = res.cell
    want = cell.expect
    if "*" in want:
        bad = {p: v for p, v in res.verdicts.items() if v not in ("pass", "n/a")}
        if bad:
            res.ok = False
            res.problem = ", ".join(f"{p} {v}" for p, v in bad.items()) + " (expected pass)"
    else:
        hits = [p for p, v in want.items() if res.verdicts.get(p) == v]
        if len(hits) != len(want):
            res.ok = False
            got = ", ".join(f"{p} {res.verdicts.get(p, 'unknown')}" for p in want)
            res.problem = f"{got} (expected {' or '.join(f'{p} {v}' for p, v in want.items())})"
    if res.ok:
        return
    verdicts = set(res.verdicts.values())
    from specs.liveness import LIVENESS_PROPERTIES

    live = {p.id for p in LIVENESS_PROPERTIES}
    wrong_fail = [p for p, v in res.verdicts.items() if v == "fail" and want.get(p) != "fail"]
    if verdicts & {"inconclusive", "unknown", "not-proved"} and not wrong_fail:
        res.exit_code = EXIT_INCONCLUSIVE
    elif any(p in live for p in wrong_fail) or any(p in live for p in want):
        res.exit_code = EXIT_LIVENESS
    else:
        res.exit_code = EXIT_SAFETY


# ---- coverage: every step of Go's scheduler, reached by some cell -----------------

COVERAGE_PROFILES = ("go1.25", "go1.26")


def coverage_tables(results: list[CellResult]) -> dict[str, list]:
    """Per profile that some cell of the run checked: every step of Go's
    scheduler (checker/engine/coverage.py), the states summed over the cells of
    Go's scheduler (mutations excluded: they change the steps) and how many
    cells took it."""
    from checker.engine.coverage import Row, step_catalogue
    from model.config import Config
    from model.factory import build_model

    out: dict[str, list] = {}
    for profile in COVERAGE_PROFILES:
        mine = [r for r in results if r.coverage is not None and r.profile == profile]
        if not mine:
            continue
        model = build_model(Config(cores=2, profile=profile))
        table = []
        for step in step_catalogue(model):
            hits = [r.coverage.get(step.key, 0) for r in mine]
            table.append(Row(step, sum(hits), sum(1 for h in hits if h)))
        out[profile] = table
    return out


def coverage_gaps(tables: dict[str, list]) -> list[str]:
    """The steps no cell reached (and not declared unreachable), as
    "profile: actor PC"."""
    from checker.engine.coverage import missing

    return [f"{p}: {r.step.name}" for p, table in tables.items() for r in missing(table)]


# ---- the manifest ------------------------------------------------------------------


MANIFEST_JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "cells"],
    "properties": {
        "schema": {"const": MANIFEST_SCHEMA},
        "cells": {
            "type": "object",
            "propertyNames": {"maxLength": 200},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"maxLength": 40},
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        },
    },
}


def load_manifest(path: Path) -> dict[str, dict[str, int]]:
    """The committed counts, validated (checker/schemas.py, jsonschema) before
    any cell runs; GateError with one line otherwise."""
    from checker.schemas import MAX_INPUT_MB, InputError, first_error, load_json

    if not path.exists():
        raise GateError(f"{path}: no manifest (run the gate with --update-manifest)")
    try:
        doc = load_json(path, MAX_INPUT_MB * 2**20, "gate manifest")
    except InputError as e:
        raise GateError(f"not a readable manifest: {e}") from None
    problem = first_error(MANIFEST_JSON_SCHEMA, doc)
    if problem:
        raise GateError(f"{path}: not a gate manifest of schema {MANIFEST_SCHEMA} ({problem})")
    return doc["cells"]


def manifest_diff(results: list[CellResult], manifest: dict) -> list[str]:
    diff = []
    for r in results:
        if not r.cell.counted:
            continue
        old = manifest.get(r.cell.id)
        if old is None:
            diff.append(f"{r.cell.id}: not in the manifest (now {_fmt_counts(r.counts)})")
            continue
        for k in sorted(set(old) | set(r.counts)):
            if old.get(k) != r.counts.get(k):
                diff.append(f"{r.cell.id}: {k} {old.get(k)} -> {r.counts.get(k)}")
    return diff


def _fmt_counts(c: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in c.items())


def write_manifest(path: Path, results: list[CellResult], keep: dict | None = None) -> None:
    cells = dict(keep or {})
    for r in results:
        if r.cell.counted:
            cells[r.cell.id] = r.counts
    doc = {"schema": MANIFEST_SCHEMA, "cells": dict(sorted(cells.items()))}
    write_atomically(path, json.dumps(doc, indent=1) + "\n")


# ---- outputs for CI ---------------------------------------------------------------


def junit_xml(results: list[CellResult]) -> str:
    failures = sum(1 for r in results if not r.ok)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name="gmpcheck gate" tests="{len(results)}" failures="{failures}">',
    ]
    for r in results:
        name = quoteattr(r.cell.id)
        out.append(
            f'  <testcase classname="gate.{r.cell.kind}" name={name} time="{r.elapsed:.3f}">'
        )
        if not r.ok:
            where = f"counterexample: {r.trace}\n" if r.trace else ""
            body = where + "\n".join(r.excerpt)
            out.append(f"    <failure message={quoteattr(r.problem)}>{escape(body)}</failure>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"


def sarif(results: list[CellResult]) -> str:
    """A violated property as a SARIF result, at the model step its
    counterexample's last action ran. Unexpected verdicts only: a mutation
    caught as expected is not a finding about the code under review."""
    from specs import all_properties

    rules = [{"id": p.id, "shortDescription": {"text": p.statement}} for p in all_properties()]
    res = []
    for r in results:
        if r.ok or not r.failed_property:
            continue
        entry: dict[str, Any] = {
            "ruleId": r.failed_property,
            "level": "error",
            "message": {"text": f"{r.cell.id}: {r.problem}" + (f" ({r.trace})" if r.trace else "")},
        }
        if r.location:
            entry["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.location[0]},
                        "region": {"startLine": r.location[1]},
                    }
                }
            ]
        res.append(entry)
    doc = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "gmpcheck", "rules": rules}}, "results": res}],
    }
    return json.dumps(doc, indent=1) + "\n"


# ---- the command ---------------------------------------------------------------------


def cmd_gate(args) -> int:
    cells = matrix()
    if not getattr(args, "full", False):
        cells = [c for c in cells if not c.full]
    if args.quick:
        cells = [c for c in cells if c.quick]
    path = Path(args.manifest)
    manifest = {}
    try:
        if not args.update_manifest or path.exists():
            # --update-manifest keeps the cells it does not run: an old manifest
            # it cannot read is an error, not something to drop silently.
            manifest = load_manifest(path)
    except GateError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.cell:
        unknown = [x for x in args.cell if not any(c.id.startswith(x) for c in cells)]
        if unknown:
            print(
                f"error: no gate cell matches --cell {unknown[0]!r} (gate --json lists them)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        cells = [c for c in cells if any(c.id.startswith(x) for x in args.cell)]
    workers = args.workers or len(os.sched_getaffinity(0))
    start = time.monotonic()
    try:
        results = _run_all(cells, workers, quiet=args.quiet, out_dir=Path(args.out))
    except GateStopped as stop:
        return _stopped(args, stop, len(cells), time.monotonic() - start)
    elapsed = time.monotonic() - start
    diff = [] if args.update_manifest else manifest_diff(results, manifest)
    # The whole matrix must reach every step of Go's scheduler; a part of it
    # (--quick, --cell) is held to that only when --coverage asks.
    whole = not args.quick and not args.cell
    tables = coverage_tables(results)
    gaps = coverage_gaps(tables) if whole or getattr(args, "coverage", False) else []
    if args.update_manifest:
        write_manifest(path, results, keep=manifest)
    codes = {r.exit_code for r in results if not r.ok}
    if gaps:
        codes.add(EXIT_INCONCLUSIVE)  # the matrix does not check those steps at all
    code = EXIT_OK
    for c in (EXIT_SAFETY, EXIT_LIVENESS, EXIT_INCONCLUSIVE):
        if c in codes:
            code = c
            break
    else:
        if diff:
            code = EXIT_MANIFEST
    lines = _table(results)
    if getattr(args, "coverage", False):
        from checker.engine.coverage import render

        for profile, table in tables.items():
            lines.append("")
            lines += render(table, title=f"coverage of {profile} (Go's scheduler)", cells=True)
    if gaps:
        lines.append("")
        lines.append(f"coverage: {len(gaps)} steps of Go's scheduler reached by no cell:")
        lines += [f"  {g}" for g in gaps]
    if diff:
        lines.append("")
        lines.append("manifest mismatch (a model change changed these counts; review them, then")
        lines.append(f"run `python -m checker gate --update-manifest` to record them in {path}):")
        lines += [f"  {d}" for d in diff]
    bad = [r for r in results if not r.ok]
    verdict = (
        f"gate: PASS — {len(results)} cells, counts match the manifest"
        if code == EXIT_OK
        else f"gate: FAIL — {len(bad)} of {len(results)} cells wrong"
        + (f", {len(diff)} counts differ from the manifest" if diff else "")
        + (f", {len(gaps)} steps reached by no cell" if gaps else "")
    )
    if code == EXIT_OK and tables and (whole or getattr(args, "coverage", False)):
        verdict += ", every step of Go's scheduler reached"
    if args.update_manifest:
        verdict += f" (manifest written to {path})"
    lines.append("")
    lines.append(verdict)
    if args.json:
        doc = _json(results, diff, code)
        if getattr(args, "coverage", False):
            from checker.engine.coverage import as_json

            doc["coverage"] = {
                p: [dict(row, cells=r.cells) for row, r in zip(as_json(t), t, strict=True)]
                for p, t in tables.items()
            }
        doc["coverage_gaps"] = gaps
        print(json.dumps(doc, indent=1))
    else:
        print("\n".join(lines))
        if not args.quiet:
            print(f"time: {elapsed:.0f} s with {workers} workers", file=sys.stderr)
    _write_ci_files(args, results)
    return code


class GateStopped(Exception):
    """The gate stopped before every cell ran: Ctrl-C, a signal, a dead worker."""

    def __init__(self, reason: str, results: list[CellResult | None]):
        super().__init__(reason)
        self.reason = reason
        self.results = results


def _run_all(
    cells: list[Cell], workers: int, quiet: bool, out_dir: Path | None = None
) -> list[CellResult]:
    """Every cell's result, in matrix order. GateStopped, with the results of
    the cells that finished, if the run is interrupted or a worker dies."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from checker.progress import Phases
    from checker.signals import pool_failure, start_pool, terminate_pool, worker_init

    run = functools.partial(run_cell, out_dir=out_dir)
    results: list[CellResult | None] = [None] * len(cells)
    with Phases(not quiet) as phases, phases.phase("gate cells", total=len(cells)) as ph:

        def done(res: CellResult, n: int) -> None:
            ph.update(n, info=f"last: {res.cell.id} {'ok' if res.ok else 'WRONG'}")
            phases.note(f"  {res.cell.id}: {'ok' if res.ok else 'WRONG'} ({res.elapsed:.1f} s)")

        if workers <= 1:
            try:
                for i, c in enumerate(cells):
                    results[i] = run(c)
                    done(results[i], i + 1)
            except KeyboardInterrupt:
                raise GateStopped("interrupted", results) from None
            except MemoryError:
                raise GateStopped(f"out of memory in cell {cells[i].id}", results) from None
            return results  # type: ignore[return-value]
        ctx = multiprocessing.get_context("fork")
        # The largest cells first, so that the tail is short; results in matrix order.
        order = sorted(range(len(cells)), key=lambda i: -_weight(cells[i]))
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init)
        reason = ""
        pending: dict = {}
        try:
            start_pool(pool)
            pending = {pool.submit(run, cells[i]): i for i in order}
            n = 0
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    i = pending.pop(f)
                    results[i] = f.result()
                    n += 1
                    done(results[i], n)
        except KeyboardInterrupt:
            reason = "interrupted"
        except BrokenProcessPool:
            running = [cells[i].id for f, i in pending.items() if f.running() or f.done()]
            reason = pool_failure(pool) + (
                f" while running {', '.join(running[:3])}" if running else ""
            )
        except MemoryError:
            reason = "out of memory"
        finally:
            if reason:
                terminate_pool(pool)
            else:
                pool.shutdown(wait=True)
        if reason:
            raise GateStopped(reason, results)
    return results  # type: ignore[return-value]


def _stopped(args, stop: GateStopped, total: int, elapsed: float) -> int:
    """An interrupted gate: the table of the cells that finished, their JUnit
    and SARIF, and exit 4 with the reason."""
    results = [r for r in stop.results if r is not None]
    lines = _table(results) if results else []
    wrong = sum(1 for r in results if not r.ok)
    lines.append("")
    lines.append(
        f"gate: STOPPED — {stop.reason}; {len(results)} of {total} cells finished"
        + (f", {wrong} of them wrong" if wrong else "")
        + f", in {elapsed:.0f} s (no manifest comparison)"
    )
    if args.json:
        doc = _json(results, [], EXIT_INCONCLUSIVE)
        doc["stopped"] = stop.reason
        print(json.dumps(doc, indent=1))
    else:
        print("\n".join(lines))
    _write_ci_files(args, results)
    return EXIT_INCONCLUSIVE


def _write_ci_files(args, results: list[CellResult]) -> None:
    if args.junit:
        write_atomically(Path(args.junit), junit_xml(results))
    if args.sarif:
        write_atomically(Path(args.sarif), sarif(results))


def _weight(c: Cell) -> int:
    cfg = c.config
    return cfg.get("cores", 1) * (3 if cfg.get("depth") == 0 else 1) + (
        5 if cfg.get("workload") in ("mixed", "spawn-burst", "syscall-heavy") else 0
    )


def _table(results: list[CellResult]) -> list[str]:
    w = max(len(r.cell.id) for r in results) + 2
    out = [f"{'cell':<{w}}{'expected':<26}{'got':<10}{'states':>12}{'time':>8}"]
    for r in results:
        want = ", ".join(f"{p} {v}" for p, v in r.cell.expect.items()).replace("*", "all")
        got = "ok" if r.ok else "WRONG"
        states = r.counts.get("liveness_states", r.counts.get("states"))
        shown = "-" if states is None else f"{states:,}"  # smt cells count no states
        out.append(f"{r.cell.id:<{w}}{want[:25]:<26}{got:<10}{shown:>12}{r.elapsed:>7.1f}s")
        if not r.ok:
            out.append(f"    {r.problem}")
            if r.trace:
                out.append(f"    counterexample: {r.trace}")
    return out


def _json(results: list[CellResult], diff: list[str], code: int) -> dict:
    return {
        "schema": "gmpcheck.gate/1",
        "cells": [
            {
                "id": r.cell.id,
                "kind": r.cell.kind,
                "config": r.cell.config,
                "expect": r.cell.expect,
                "verdicts": r.verdicts,
                "counts": r.counts,
                "ok": r.ok,
                "problem": r.problem,
                "trace": r.trace or None,
            }
            for r in results
        ],
        "manifest_diff": diff,
        "exit_code": code,
    }
