"""A step's label as a typed value (model/action.py): one parser, one
renderer, and str(Action.parse(label)) == label for every label the model
writes, fine or macro, and for any other text."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.action import Action
from model.config import Config
from model.factory import build_model
from model.mutations import MUTATIONS
from model.workloads import WORKLOADS

SEARCH_LIMIT = 600  # states per configuration


def _labels(cfg: Config) -> set[str]:
    model = build_model(cfg)
    seen = set(model.initial_states())
    todo = deque(seen)
    out: set[str] = set()
    while todo and len(seen) < SEARCH_LIMIT:
        t = todo.popleft()
        for _, label, u in model.successors(t)[0]:
            out.add(label)
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return out


@pytest.fixture(scope="module")
def labels() -> list[str]:
    """Every label of a bounded search of every workload on both profiles,
    fine and macro, and of every mutation."""
    out: set[str] = set()
    for workload in WORKLOADS:
        for profile in ("go1.25", "go1.26"):
            for steps in ("fine", "macro"):
                out |= _labels(Config(cores=2, workload=workload, profile=profile, steps=steps))
    for name, mut in MUTATIONS.items():
        workload = "syscall-heavy" if "syscall" in name else "spawn-burst"
        out |= _labels(Config(cores=2, workload=workload, mutation=name, profile=mut.profiles[0]))
    return sorted(out)


def test_the_search_writes_every_kind_of_label(labels):
    procedures = {a.procedure for label in labels for a in Action.parse(label).steps()}
    for p in ("stealWork", "startm", "sysmon.retake", "execute", "exitsyscall", "preempt.async"):
        assert p in procedures
    assert any("; " in label for label in labels)  # macro steps
    assert not any(a.bare for label in labels for a in Action.parse(label).steps())


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_every_label_and_every_chain_of_them_round_trips(labels, data):
    chain = data.draw(st.lists(st.sampled_from(labels), min_size=1, max_size=4))
    label = "; ".join(chain)
    action = Action.parse(label)
    assert str(action) == label
    assert [str(a) for a in action.steps()] == [
        str(a) for piece in chain for a in Action.parse(piece).steps()
    ]
    assert Action.parse(str(action)) == action


def test_each_label_round_trips(labels):
    for label in labels:
        assert str(Action.parse(label)) == label


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1=,;()[] :-.G"), max_size=40) | st.text(max_size=30))
def test_any_text_round_trips(text):
    assert str(Action.parse(text)) == text


def test_what_a_label_says():
    steal = Action.parse("stealWork(m=1, p=0, victim=1, gs=[2, 3])")
    assert steal == Action("stealWork", (("m", 1), ("p", 0), ("victim", 1), ("gs", (2, 3))))
    assert steal.calls("stealWork") and not steal.calls("stealWork.runnext-read")
    start = Action.parse("startm(sysmon, p=0, spinning=0, newm=1)")
    assert start.flags == ("sysmon",) and start.get("newm") == 1 and start.has("mget", "newm")
    retake = Action.parse("sysmon.retake(seen=P0,P1; preempt=P1:G0)")
    assert retake.sep == "; " and retake.text("preempt") == "P1:G0"
    assert retake.get("seen") == "P0,P1"
    stop = Action.parse("stopm(m=0) (not on sched.midle)")
    assert stop.procedure == "stopm" and stop.tail == " (not on sched.midle)"
    chain = Action.parse("allocm.releasep; startm(m=0, p=1, spinning=0, newm=2)")
    assert chain.bare and chain.procedure == "allocm.releasep"
    assert chain.then is not None and chain.then.get("newm") == 2
    oldp = Action.parse("exitsyscall.oldp(m=0, g=1, oldp=-, busy)")
    assert oldp.get("oldp") == "-" and oldp.flags == ("busy",)
    assert Action.parse("exitsyscall.oldp(m=0, g=0, p=0, from m=1)").get("from m") == 1
    assert Action.parse("init") == Action("init", bare=True)
    assert Action.parse("sysmon.retake()") == Action("sysmon.retake")
