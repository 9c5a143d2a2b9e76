"""One cell of the gate run: the check or the proof it names, its verdicts
judged against the expected ones, and the coverage of Go's scheduler's
steps over the whole matrix."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from checker.gate.cells import (
    COVERAGE_PROFILES,
    Cell,
    CellResult,
)
from checker.verdict import Verdict
from checker.views.itf import write_trace
from checker.views.render import render_trace
from checker.views.report import (
    EXIT_INCONCLUSIVE,
    EXIT_LIVENESS,
    EXIT_SAFETY,
)
from specs import properties_of


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
    for entry in summary.properties:
        v = entry.verdict
        res.verdicts[entry.id] = Verdict.NA if v == Verdict.NOT_APPLICABLE else v
    _judge(res)
    # The counterexample that matters: an unexpected failure's, else the
    # first failure (an expected one).
    failed = [p for p, v in res.verdicts.items() if v == Verdict.FAIL]
    unexpected = [p for p in failed if cell.expect.get(p) != Verdict.FAIL]
    if failed:
        res.failed_property = (unexpected or failed)[0]
        doc = summary.traces[res.failed_property]
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
        src = inspect.getsourcefile(fn)
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return None
    if src is None:
        return None
    path = Path(src).resolve()
    root = Path(__file__).resolve().parents[2]
    try:
        return str(path.relative_to(root)), line
    except ValueError:
        return str(path), line


def _judge(res: CellResult) -> None:
    cell = res.cell
    want = cell.expect
    if "*" in want:
        bad = {p: v for p, v in res.verdicts.items() if v not in (Verdict.PASS, Verdict.NA)}
        if bad:
            res.ok = False
            got = ", ".join(f"{p} {v}" for p, v in bad.items())
            res.problem = f"{got} (expected {Verdict.PASS})"
    else:
        hits = [p for p, v in want.items() if res.verdicts.get(p) == v]
        if len(hits) != len(want):
            res.ok = False
            got = ", ".join(f"{p} {res.verdicts.get(p, Verdict.UNKNOWN)}" for p in want)
            res.problem = f"{got} (expected {' or '.join(f'{p} {v}' for p, v in want.items())})"
    if res.ok:
        return
    verdicts = set(res.verdicts.values())
    from specs.liveness import LIVENESS_PROPERTIES

    live = {p.id for p in LIVENESS_PROPERTIES}
    wrong_fail = [
        p for p, v in res.verdicts.items() if v == Verdict.FAIL and want.get(p) != Verdict.FAIL
    ]
    if verdicts & {Verdict.INCONCLUSIVE, Verdict.UNKNOWN, Verdict.NOT_PROVED} and not wrong_fail:
        res.exit_code = EXIT_INCONCLUSIVE
    elif any(p in live for p in wrong_fail) or any(p in live for p in want):
        res.exit_code = EXIT_LIVENESS
    else:
        res.exit_code = EXIT_SAFETY


# ---- coverage: every step of Go's scheduler, reached by some cell -----------------


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
            hits = [(r.coverage or {}).get(step.key, 0) for r in mine]
            table.append(Row(step, sum(hits), sum(1 for h in hits if h)))
        out[profile] = table
    return out


def coverage_gaps(tables: dict[str, list]) -> list[str]:
    """The steps no cell reached (and not declared unreachable), as
    "profile: actor PC"."""
    from checker.engine.coverage import missing

    return [f"{p}: {r.step.name}" for p, table in tables.items() for r in missing(table)]
