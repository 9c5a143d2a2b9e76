"""The worst-case global-queue wait: findRunnable's schedtick check bounds
it below what the model without the check reaches, each bound is reached
by a real run of the model (the witness is replayed through it), and the
explicit engine's exact search over every run (checker/engine/waitbound.py) finds
the same bound as z3, so no run of the depth does better than z3's."""

from __future__ import annotations

from functools import cache

from checker.engine.waitbound import explicit_global_wait, unbounded_global_wait
from checker.smt.starvation import max_global_wait
from model.config import Config
from model.factory import build_model

DEPTH = 18
MUTATIONS = ("", "no-schedtick-check")


def model_for(mutation: str):
    cfg = Config(cores=1, workload="yield-pair", period=2, mutation=mutation)
    return build_model(cfg, symmetry=False)


@cache
def bound(mutation: str, depth: int):
    model = model_for(mutation)
    return model, max_global_wait(model, 0, depth)


def executes_while_waiting(model, steps) -> int:
    """The most execute steps in a stretch during which G0 stays queued."""
    L = model.L
    queued = [any(st.state[L.grunq + i] == 0 for i in range(L.nG)) for st in steps]
    best = cur = 0
    for i in range(1, len(steps)):
        if queued[i - 1] and queued[i]:
            cur += steps[i].label.calls("execute")
            best = max(best, cur)
        else:
            cur = 0
    return best


def test_the_schedtick_check_bounds_the_wait():
    go_model, go = bound("", DEPTH)
    mut_model, without = bound("no-schedtick-check", DEPTH)
    assert not go.capped and not without.capped
    assert go.executes < without.executes
    for model, res in ((go_model, go), (mut_model, without)):
        if res.executes:
            assert len(res.witness) == DEPTH + 1
            assert executes_while_waiting(model, res.witness) == res.executes


def replays(model, steps) -> bool:
    """Each step of the run is one of the model's successors of the one before."""
    return steps[0].state in model.initial_states() and all(
        (b.actor, b.label, b.state) in model.successors(a.state)[0]
        for a, b in zip(steps, steps[1:], strict=False)
    )


def test_no_run_of_the_depth_waits_longer_than_z3_says():
    explicit = {}
    for depth in (10, DEPTH):
        for mutation in MUTATIONS:
            model, res = bound(mutation, depth)
            ex = explicit_global_wait(model, 0, depth)
            # z3 unrolls exactly `depth` steps; no run stopping short keeps
            # "at most depth" the same question.
            assert ex.dead_ends == 0 and ex.truncated == 0
            assert ex.executes == res.executes, (mutation, depth)
            assert len(ex.witness) <= depth + 1 and replays(model, ex.witness)
            assert executes_while_waiting(model, ex.witness) == ex.executes
            explicit[mutation, depth] = ex.executes
    for depth in (10, DEPTH):
        assert explicit["", depth] < explicit["no-schedtick-check", depth]


def test_over_every_run_length_the_check_bounds_the_wait_and_its_absence_does_not():
    go = unbounded_global_wait(model_for(""), 0)
    without = unbounded_global_wait(model_for("no-schedtick-check"), 0)
    assert without.executes is None
    assert go.executes is not None and go.truncated == 0
    # A run to the heaviest stretch's start, then the stretch, visit no
    # state twice each: the depth-bounded search reaches the bound by then.
    at = explicit_global_wait(model_for(""), 0, 2 * go.states)
    assert at.executes == go.executes


def test_the_explicit_bound_command(capsys):
    from checker.app.waitbound import main

    assert main(["12", "--period", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    # two models, each: one line per depth and one over every run length
    assert len(out) == 4 and all(line.startswith("global-queue wait ") for line in out)
    assert "no-schedtick-check any length: no bound" in out[-1]
    for bad in (["x"], ["0"], ["12", "--period", "300"], []):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
