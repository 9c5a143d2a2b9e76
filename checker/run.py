"""One check run: explore, then judge the liveness properties on the graph.

The command line and the tests both go through `run_check`, so that what a
test checks is what a user runs. Symmetry is an option of the searches:
the model offers its canonical form, each search is told whether to use it
(checker/engine/protocol.py), and nothing of the model changes during a run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checker.engine.checkpoint import Checkpoints
from checker.engine.explore import STOP_INTERRUPTED, STOP_MAX_STATES, Exploration, Progress, explore
from checker.engine.liveness import LivenessVerdict, check_property
from checker.engine.protocol import has_symmetry
from specs.property import LIVENESS, Property


@dataclass
class CheckRun:
    ex: Exploration  # the search the safety verdicts come from
    liveness: dict[str, LivenessVerdict] = field(default_factory=dict)
    symmetry: bool = True  # the safety search reduced by the model's symmetry
    live_ex: Exploration | None = None  # the state graph of the liveness verdicts
    analysis_s: float = 0.0  # time spent judging the liveness properties on the graph
    interrupted: bool = False  # the liveness pass was cut (Ctrl-C, a signal)
    stop_reason: str = ""  # why, when not Ctrl-C (a dead worker, out of memory)
    kernel: str = "python"  # the kernel that ran: "compiled" or "python"
    kernel_note: str = ""  # one line: which kernel ran, and why


def run_check(
    model: Any,
    props: list[Property],
    *,
    depth: int,
    workers: int = 1,
    max_states: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    fairness: tuple[str, ...] = (),
    phase: Callable[[str, int, int | None], None] | None = None,
    kernel: str = "auto",
    exact: bool = False,
    strict_kernel: bool = False,
    checkpoints: Checkpoints | None = None,
    symmetry: bool = True,
) -> CheckRun:
    """Explore `model` and check `props`, with `symmetry` reducing by the
    model's symmetry where it has one. Liveness is judged on a search
    without symmetry (its properties name G's and its fairness names Ms;
    renaming would merge them) that keeps the state graph; with symmetry on,
    the safety properties get their own, reduced, search. `fairness`
    overrides each liveness property's own assumptions. `phase(name, done,
    total)`, if given, is told when a phase starts ("safety search",
    "liveness search", "liveness analysis") and how far the analysis is.
    `kernel` picks the compiled or the Python steps (auto: compiled where it
    can be built); `exact` keeps every state rather than its fingerprint.
    With `checkpoints`, each search continues from its checkpoint there and
    writes new ones (checker/engine/checkpoint.py)."""
    from checker.kernel import select_kernel

    say = phase or (lambda name, done, total: None)
    say("building the kernel", 0, None)
    reduced = symmetry and has_symmetry(model)
    choice = select_kernel(
        model, props, kernel, long_run=depth == 0, strict=strict_kernel, symmetry=reduced
    )
    search = _Search(choice.kernel, choice.note, exact, checkpoints)
    live = [p for p in props if p.kind == LIVENESS]
    safety = [p for p in props if p.kind != LIVENESS]
    kw = {"depth": depth, "workers": workers, "max_states": max_states, "progress": progress}
    if live and reduced:
        # Two searches: safety under symmetry, liveness on the plain graph.
        say("safety search", 0, None)
        ex = search.explore(model, safety, name="safety", symmetry=True, **kw)
        if ex.stopped == STOP_INTERRUPTED:
            return search.done(CheckRun(ex, symmetry=True))
        if checkpoints is not None and checkpoints.interrupted:
            # Stopped while the finished search's checkpoint was written:
            # its verdicts stand, the liveness search is not started.
            return search.done(CheckRun(ex, symmetry=True, interrupted=True))
        run = CheckRun(ex, symmetry=True)
        _check_liveness(run, search, model, live, dict(kw, symmetry=False), fairness, say)
        # The safety search finished: its verdicts stand even when the
        # liveness pass was cut (run.interrupted says so).
        return search.done(run)
    # One search. Without a symmetry of the model's, a model's own
    # `canonical` is still honoured with symmetry on (the protocol).
    kw["symmetry"] = symmetry
    if live:
        run = CheckRun(None, symmetry=reduced)  # type: ignore[arg-type]
        _check_liveness(run, search, model, props, kw, fairness, say)
        assert run.live_ex is not None  # _check_liveness always searches
        run.ex = run.live_ex
        return search.done(run)
    say("safety search", 0, None)
    ex = search.explore(model, props, name="safety", **kw)
    return search.done(CheckRun(ex, symmetry=reduced))


class _Search:
    """The kernel a run's searches use; a compiled search that cannot go on
    as the model would is run again on the Python steps, and the note says so."""

    def __init__(self, kernel: Any, note: str, exact: bool, checkpoints: Checkpoints | None):
        self.kernel, self.note, self.exact = kernel, note, exact
        self.checkpoints = checkpoints

    def explore(self, model: Any, props: list[Property], *, name: str, **kw: Any) -> Exploration:
        """One search; `name` is its checkpoint's (safety, liveness)."""
        cps = self.checkpoints
        if self.kernel is not None:
            from checker.kernel.search import KernelError, explore_compiled

            cp = cps.search(name, "compiled") if cps is not None else None
            try:
                ex = explore_compiled(
                    self.kernel, model, props, exact=self.exact, checkpoint=cp, **kw
                )
                ex.kernel = "compiled"
                return ex
            except KernelError as e:
                self.kernel = None
                self.note = (
                    f"python (the compiled search stopped: {e}; run again on the Python steps)"
                )
                # The Python steps start this search afresh, their own checkpoints beside.
                cp = cps.search(name, "python", fresh=True) if cps is not None else None
                return explore(model, props, checkpoint=cp, **kw)
        cp = cps.search(name, "python") if cps is not None else None
        return explore(model, props, checkpoint=cp, **kw)

    def done(self, run: CheckRun) -> CheckRun:
        run.kernel = "compiled" if self.kernel is not None else "python"
        run.kernel_note = self.note
        return run


def _check_liveness(
    run: CheckRun, search: _Search, model: Any, props, kw: dict, fairness, say
) -> None:
    """The graph search (`kw` says with or without symmetry) and the
    liveness verdicts on it."""
    say("liveness search", 0, None)
    live_ex = search.explore(model, props, name="liveness", graph=True, **kw)
    run.live_ex = live_ex
    if live_ex.stopped in (STOP_INTERRUPTED, STOP_MAX_STATES):
        run.interrupted = live_ex.stopped == STOP_INTERRUPTED
        run.stop_reason = live_ex.stop_reason
        return
    start = time.monotonic()
    todo = [p for p in props if p.kind == LIVENESS]
    try:
        for i, p in enumerate(todo):
            say("liveness analysis", i, len(todo))
            run.liveness[p.id] = check_property(model, live_ex, p, fairness or p.fairness)
        say("liveness analysis", len(todo), len(todo))
    except KeyboardInterrupt:
        run.interrupted = True  # the verdicts judged so far stand; the rest are unknown
    except MemoryError:
        run.interrupted = True
        run.stop_reason = "out of memory in the liveness analysis"
    run.analysis_s = time.monotonic() - start
