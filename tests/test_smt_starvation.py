"""The worst-case global-queue wait: findRunnable's schedtick check bounds
it below what the model without the check reaches, and each bound is
reached by a real run of the model (the witness is replayed through it)."""

from __future__ import annotations

from checker.smt.starvation import max_global_wait
from model.config import Config
from model.factory import build_model

DEPTH = 18


def bound(mutation: str):
    cfg = Config(cores=1, workload="yield-pair", period=2, mutation=mutation)
    model = build_model(cfg, symmetry=False)
    return model, max_global_wait(model, 0, DEPTH)


def executes_while_waiting(model, steps) -> int:
    """The most execute steps in a stretch during which G0 stays queued."""
    L = model.L
    queued = [any(st.state[L.grunq + i] == 0 for i in range(L.nG)) for st in steps]
    best = cur = 0
    for i in range(1, len(steps)):
        if queued[i - 1] and queued[i]:
            cur += steps[i].label.startswith("execute(")
            best = max(best, cur)
        else:
            cur = 0
    return best


def test_the_schedtick_check_bounds_the_wait():
    go_model, go = bound("")
    mut_model, without = bound("no-schedtick-check")
    assert not go.capped and not without.capped
    assert go.executes < without.executes
    for model, res in ((go_model, go), (mut_model, without)):
        if res.executes:
            assert len(res.witness) == DEPTH + 1
            assert executes_while_waiting(model, res.witness) == res.executes
