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
import multiprocessing
import os
import sys
import time
from pathlib import Path

from checker.files import write_atomically
from checker.gate.cell_run import (  # noqa: F401  (the room's front: its names)
    COVERAGE_PROFILES,
    coverage_gaps,
    coverage_tables,
    run_cell,
)
from checker.gate.cells import (  # noqa: F401
    MANIFEST,
    Cell,
    CellResult,
    GateError,
    matrix,
)
from checker.gate.manifest import (  # noqa: F401
    junit_xml,
    load_manifest,
    manifest_diff,
    sarif,
    write_manifest,
)
from checker.results import GateCell, GateSummary, print_json
from checker.views.report import (
    EXIT_INCONCLUSIVE,
    EXIT_LIVENESS,
    EXIT_MANIFEST,
    EXIT_OK,
    EXIT_SAFETY,
    EXIT_USAGE,
)

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
    code = _exit_code(results, diff, gaps)
    lines = _lines(args, results, tables, gaps, diff, code, whole)
    if args.json:
        doc = gate_summary(results, diff, code)
        if getattr(args, "coverage", False):
            from checker.engine.coverage import as_json

            doc.coverage = {
                p: [dict(row, cells=r.cells) for row, r in zip(as_json(t), t, strict=True)]
                for p, t in tables.items()
            }
        doc.coverage_gaps = gaps
        print_json(doc, indent=1)
    else:
        print("\n".join(lines))
        if not args.quiet:
            print(f"time: {elapsed:.0f} s with {workers} workers", file=sys.stderr)
    _write_ci_files(args, results)
    return code


def _exit_code(results: list[CellResult], diff: list[str], gaps: list[str]) -> int:
    """The worst wrong verdict's exit code; else a manifest mismatch; else 0."""
    codes = {r.exit_code for r in results if not r.ok}
    if gaps:
        codes.add(EXIT_INCONCLUSIVE)  # the matrix does not check those steps at all
    for c in (EXIT_SAFETY, EXIT_LIVENESS, EXIT_INCONCLUSIVE):
        if c in codes:
            return c
    return EXIT_MANIFEST if diff else EXIT_OK


def _lines(
    args,
    results: list[CellResult],
    tables: dict,
    gaps: list[str],
    diff: list[str],
    code: int,
    whole: bool,
) -> list[str]:
    """The table of cells, the coverage, the manifest's diff and the verdict."""
    path = Path(args.manifest)
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
    return lines


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
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from checker.progress import Phases
    from checker.signals import pool_failure, pool_wait, start_pool, terminate_pool, worker_init

    run = functools.partial(run_cell, out_dir=out_dir)
    results: list[CellResult | None] = [None] * len(cells)
    with Phases(not quiet) as phases, phases.phase("gate cells", total=len(cells)) as ph:

        def done(res: CellResult, n: int) -> None:
            ph.update(n, info=f"last: {res.cell.id} {'ok' if res.ok else 'WRONG'}")
            phases.note(f"  {res.cell.id}: {'ok' if res.ok else 'WRONG'} ({res.elapsed:.1f} s)")

        if workers <= 1:
            try:
                for i, c in enumerate(cells):
                    res = run(c)
                    results[i] = res
                    done(res, i + 1)
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
                finished = pool_wait(pool, pending)  # a dead worker raises at once
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
        doc = gate_summary(results, [], EXIT_INCONCLUSIVE)
        doc.stopped = stop.reason
        print_json(doc, indent=1)
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


def gate_summary(results: list[CellResult], diff: list[str], code: int) -> GateSummary:
    """The run as `gate --json` prints it."""
    cells = [
        GateCell(
            id=r.cell.id,
            kind=r.cell.kind,
            config=r.cell.config,
            expect=r.cell.expect,
            verdicts=r.verdicts,
            counts=r.counts,
            ok=r.ok,
            problem=r.problem,
            trace=r.trace or None,
        )
        for r in results
    ]
    return GateSummary(cells, diff, code)
