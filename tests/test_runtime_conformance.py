"""The runtime's steps are the model's, step for step: random walks drive
both from the same state with the same choices (the model picks them; the
runtime's thread at its schedule point takes them), and every step must
lead to the same state (the runtime's projection), the same checkdead
count, and the runtime must offer the same choices as the model, and no
step where the model has none. Replays of traces and free runs are in
test_runtime_replay.py and test_runtime_record.py."""

from __future__ import annotations

import random
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.replay.conform import model_steps, runtime_choice, state_fields
from checker.replay.points import snapshot
from model.config import Config
from model.factory import build_model
from model.gmp import GMPModel
from model.mutations import MUTATIONS
from model.state import THROW_QUEUE_OVERFLOW
from model.workloads import WORKLOADS, Op
from runtime import mutations as runtime_mutations
from runtime.factory import build_runtime, runtime_class_of
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
    rt.start()
    try:
        return _walk(model, rt, seed, steps, model_class, final)
    finally:
        rt.stop()
        rt.join()


def _walk(model, rt, seed: int, steps: int, model_class, final: list | None) -> int:
    t = model.initial_states()[0]
    assert snapshot(rt) == t, state_fields(model, t, snapshot(rt))
    invariants = [p for p in properties_of(model) if p.default and p.kind == INVARIANT]
    rng = random.Random(seed)
    for i in range(steps):
        moves = []
        for a in range(model.L.nA):
            succ, cut = model_steps(model, t, a)
            moves += [(a, c, lab, u) for c, lab, u in succ]
            offered = rt.options_of(a)
            if offered is not None and not cut:
                want = {runtime_choice(c) for c, _, _ in succ}
                assert set(offered) == want, f"step {i}: actor {a} offers {offered}, model {want}"
            if not succ and not cut:
                assert not rt.has_step(a), f"step {i}: actor {a} has a step the model has not"
        if final is not None:
            final[:] = [t]
        if not moves:
            return i
        a, c, lab, u = rng.choice(moves)
        took = rt.step(a, runtime_choice(c))
        assert rt.error is None, rt.error[2]
        s = snapshot(rt, t)
        assert s == u, (i, lab, took, state_fields(model, u, s))
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


# The workloads that make system calls: where the go1.26 profile differs.
SYSCALL_WORKLOADS = sorted(
    name for name, w in WORKLOADS.items() if {Op.SYSCALL, Op.SYSCALL_BLOCK} & set(w.compile().ops)
)


@settings(max_examples=40, deadline=None)
@given(
    workload=st.sampled_from(SYSCALL_WORKLOADS),
    cores=st.integers(1, 4),
    seed=st.integers(0, 2**32),
    async_preempt=st.booleans(),
)
def test_go126_runtime_steps_are_the_go126_models_steps(workload, cores, seed, async_preempt):
    """The same walks on the go1.26 profile: runtime/go126.py's system calls
    against model/go126.py's, wherever a workload makes them."""
    cfg = Config(cores=cores, workload=workload, async_preempt=async_preempt, profile="go1.26")
    assert walk(cfg, seed, 250) > 0


@pytest.mark.parametrize(
    "name, profile",
    [(n, p) for n in sorted(MUTATIONS) for p in MUTATIONS[n].profiles],
    ids=lambda v: v,
)
def test_mutated_runtime_steps_are_the_mutated_models_steps(name, profile):
    at = dict(MUTATIONS[name].check_at)
    at.pop("depth")
    for seed in range(4):
        assert walk(Config(mutation=name, profile=profile, **at), seed, 120) > 0


def test_every_mutation_has_a_runtime_twin():
    """Each declaration in model/mutations.py names its class in
    runtime/mutations.py, a Runtime with the bug written in the runtime's
    own code."""
    for name in MUTATIONS:
        klass = runtime_class_of(name)
        assert issubclass(klass, Runtime) and klass is not Runtime
        assert klass.mutation_name == name and klass.__doc__
    # ...and every class there is a declared mutation's: no second registry.
    named = {m.runtime_override for m in MUTATIONS.values()}
    defined = {
        k for k, v in vars(runtime_mutations).items()
        if isinstance(v, type) and issubclass(v, Runtime) and v is not Runtime
    }  # fmt: skip
    assert defined == named


def test_a_runtime_that_differs_from_the_model_is_caught():
    """The walk is not vacuous: a runtime whose execute forgets schedtick++
    (as if every G inherited its time slice) fails it at the first execute."""

    class NoSchedtick(Runtime):
        def execute(self, mp, g, inherit):
            return super().execute(mp, g, True)

    with pytest.raises(AssertionError, match="execute"):
        walk(Config(cores=2, workload="spawn-burst"), 1, 200, NoSchedtick)


class PidleputTwiceModel(GMPModel):
    def pidleput(self, s, p):
        super().pidleput(s, p)
        super().pidleput(s, p)


class PidleputTwice(Runtime):
    def pidleput(self, pp):
        super().pidleput(pp)
        super().pidleput(pp)


class RingPutTwiceModel(GMPModel):
    def ring_put(self, s, p, g):
        super().ring_put(s, p, g)
        super().ring_put(s, p, g)


class RingPutTwice(Runtime):
    def ring_put(self, pp, g):
        if not super().ring_put(pp, g):
            return False
        self.runqputbatch(pp, [g])  # the same G again: past a full ring, Go's runq overflow
        return True


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
    state before the step; the runtime's step throws at the bad access
    (Throw.void), at the same step, and reads as the same state."""
    cfg = Config(cores=1, workload=workload)
    final: list = []
    make = partial(build_runtime, runtime_class=runtime_class)
    walk(cfg, 0, 200, make, model_class=model_class, final=final)
    model = build_model(cfg, symmetry=False)
    assert final[0][model.L.throw] == THROW_QUEUE_OVERFLOW
