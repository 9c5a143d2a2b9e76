"""The runtime's steps are the model's, step for step: random walks drive
both from the same state with the same choices (the model picks them; the
runtime's thread-free entry point takes them), and every step must give
the same label, the same state (the runtime's projection), the same
checkdead count, and the runtime must offer the same choices as the model.
No threads here: this pins down the step code; the threaded runs are in
test_runtime_replay.py and test_runtime_record.py."""

from __future__ import annotations

import random
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.replay.conform import model_steps, runtime_choice, state_fields
from model.config import Config
from model.factory import build_model
from model.gmp import GMPModel
from model.mutations import MUTATIONS
from model.state import THROW_QUEUE_OVERFLOW
from model.workloads import WORKLOADS
from runtime.factory import build_runtime
from runtime.mutations import RUNTIME_MUTATIONS
from runtime.scheduler import Runtime
from specs import properties_of
from specs.property import INVARIANT


def walk(
    cfg: Config,
    seed: int,
    steps: int,
    make_runtime=build_runtime,
    model_class=None,
    final: list | None = None,
) -> int:
    """Walk model and runtime together; return the steps taken (and put the
    last state in `final`). Without a `model_class` the walk stops where a
    mutation breaks an invariant; with one it goes on to the end."""
    model = build_model(cfg, symmetry=False, model_class=model_class)
    rt = make_runtime(cfg)
    t = model.initial_states()[0]
    assert rt.snapshot() == t, state_fields(model, t, rt.snapshot())
    invariants = [p for p in properties_of(model) if p.default and p.kind == INVARIANT]
    rng = random.Random(seed)
    for i in range(steps):
        moves = []
        for a in range(model.L.nA):
            succ, cut = model_steps(model, t, a)
            moves += [(a, c, lab, u) for c, lab, u in succ]
            offered = rt.choices_of(a)
            if offered is not None and not cut:
                want = {runtime_choice(c) for c, _, _ in succ}
                assert set(offered) == want, f"step {i}: actor {a} offers {offered}, model {want}"
        if final is not None:
            final[:] = [t]
        if not moves:
            return i
        a, c, lab, u = rng.choice(moves)
        label = rt.take_step(a, runtime_choice(c), imposed=True)
        s = rt.snapshot()
        assert (label, s) == (lab, u), (i, lab, label, state_fields(model, u, s))
        assert rt.checkdead_run() == model.checkdead_run(u), (i, lab)
        t = u
        if final is not None:
            final[:] = [t]
        if model_class is None and any(p.check(model, t) for p in invariants):
            return i + 1  # a mutation broke the state: the model stops meaning much
    return steps


@settings(max_examples=60, deadline=None)
@given(
    workload=st.sampled_from(sorted(WORKLOADS)),
    cores=st.integers(1, 4),
    seed=st.integers(0, 2**32),
    async_preempt=st.booleans(),
)
def test_runtime_steps_are_the_models_steps(workload, cores, seed, async_preempt):
    cfg = Config(cores=cores, workload=workload, async_preempt=async_preempt)
    assert walk(cfg, seed, 250) > 0


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutated_runtime_steps_are_the_mutated_models_steps(name):
    at = dict(MUTATIONS[name].check_at)
    at.pop("depth")
    for seed in range(4):
        assert walk(Config(mutation=name, **at), seed, 120) > 0


def test_every_mutation_has_a_runtime_twin():
    assert set(RUNTIME_MUTATIONS) == set(MUTATIONS)
    for name, klass in RUNTIME_MUTATIONS.items():
        assert klass.mutation_name == name and klass.__doc__


def test_a_runtime_that_differs_from_the_model_is_caught():
    """The walk is not vacuous: a runtime whose execute forgets schedtick++
    fails it at the first execute."""

    class NoSchedtick(Runtime):
        def execute(self, m, c):
            pp = self.allp[self.allm[m].p]
            before = pp.schedtick
            label = super().execute(m, c)
            pp.schedtick = before
            return label

    with pytest.raises(AssertionError, match="execute"):
        walk(Config(cores=2, workload="spawn-burst"), 1, 200, NoSchedtick)


class PidleputTwiceModel(GMPModel):
    def pidleput(self, s, p):
        super().pidleput(s, p)
        super().pidleput(s, p)


class PidleputTwice(Runtime):
    def pidleput(self, p):
        super().pidleput(p)
        super().pidleput(p)


class RingPutTwiceModel(GMPModel):
    def ring_put(self, s, p, g):
        super().ring_put(s, p, g)
        super().ring_put(s, p, g)


class RingPutTwice(Runtime):
    def ring_put(self, p, g):
        super().ring_put(p, g)
        super().ring_put(p, g)


@pytest.mark.parametrize(
    "model_class, runtime_class, workload",
    [
        (PidleputTwiceModel, PidleputTwice, "spawn-burst"),
        (RingPutTwiceModel, RingPutTwice, "yield-pair"),
    ],
    ids=["idle list", "ring"],
)
def test_a_queue_overflow_is_the_models_throw(model_class, runtime_class, workload):
    """A scheduler that queues a P or a G twice in one step overflows the
    queue (one P; a ring of two): the model records the throw with the
    state before the step, and so must the runtime (its step undone under
    its locks), at the same step."""
    cfg = Config(cores=1, workload=workload)
    final: list = []
    make = partial(build_runtime, runtime_class=runtime_class)
    walk(cfg, 0, 200, make, model_class=model_class, final=final)
    model = build_model(cfg, symmetry=False)
    assert final[0][model.L.throw] == THROW_QUEUE_OVERFLOW
