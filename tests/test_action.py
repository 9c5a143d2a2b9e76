"""What a step did as a typed value (model/action.py): the steps return
Actions, whose text is made only where a trace shows it. The text is the
label every earlier version wrote (tests/action_labels.txt, recorded from
the steps when they still returned formatted text), and a trace file's
text reads back (Action.parse) as the very Action the step returned."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.action import Action, Refs
from model.config import Config
from model.factory import build_model
from model.mutations import MUTATIONS
from model.workloads import WORKLOADS

SEARCH_LIMIT = 600  # states per configuration
RECORDED = Path(__file__).with_name("action_labels.txt")


def _actions(cfg: Config) -> set[Action]:
    model = build_model(cfg)
    seen = set(model.initial_states())
    todo = deque(seen)
    out: set[Action] = set()
    while todo and len(seen) < SEARCH_LIMIT:
        t = todo.popleft()
        for _, action, u in model.successors(t)[0]:
            out.add(action)
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return out


@pytest.fixture(scope="module")
def actions() -> list[Action]:
    """Every action of a bounded search of every workload on both profiles,
    fine and macro, and of every mutation."""
    out: set[Action] = set()
    for workload in WORKLOADS:
        for profile in ("go1.25", "go1.26"):
            for steps in ("fine", "macro"):
                out |= _actions(Config(cores=2, workload=workload, profile=profile, steps=steps))
    for name, mut in MUTATIONS.items():
        workload = "syscall-heavy" if "syscall" in name else "spawn-burst"
        out |= _actions(Config(cores=2, workload=workload, mutation=name, profile=mut.profiles[0]))
    return sorted(out, key=str)


def test_the_steps_write_the_labels_they_always_wrote(actions):
    """The same searches give the same label texts as the recording: a
    change here changes every trace file and the gate's manifest."""
    recorded = RECORDED.read_text().splitlines()
    assert sorted({str(a) for a in actions}) == recorded


def test_the_search_does_every_kind_of_step(actions):
    procedures = {a.procedure for action in actions for a in action.steps()}
    for p in ("stealWork", "startm", "sysmon.retake", "execute", "exitsyscall", "preempt.async"):
        assert p in procedures
    assert any(action.then is not None for action in actions)  # macro steps
    assert not any(a.plain for action in actions for a in action.steps())


def test_a_trace_file_reads_back_as_the_actions_the_steps_returned(actions):
    for action in actions:
        assert Action.parse(str(action)) == action, str(action)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_every_chain_of_steps_reads_back(actions, data):
    chain = data.draw(st.lists(st.sampled_from(actions), min_size=1, max_size=4))
    action = chain[0]
    for nxt in chain[1:]:
        action = action.chain(nxt)
    assert str(action) == "; ".join(str(a) for a in chain)
    assert list(action.steps()) == [a for piece in chain for a in piece.steps()]
    assert Action.parse(str(action)) == action


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1=,;()[] :-.G"), max_size=40) | st.text(max_size=30))
def test_any_text_reads_back_as_itself(text):
    assert str(Action.parse(text)) == text


def test_what_a_step_says():
    steal = Action("stealWork", m=1, p=0, victim=1, gs=(2, 3))
    assert str(steal) == "stealWork(m=1, p=0, victim=1, gs=[2, 3])"
    assert steal.calls("stealWork") and not steal.calls("stealWork.runnext-read")
    assert steal.get("gs") == (2, 3) and steal.text("gs") == "[2, 3]"
    start = Action("startm", "sysmon", p=0, spinning=0).arg("newm", 1)
    assert str(start) == "startm(sysmon, p=0, spinning=0, newm=1)"
    assert start.flags == ("sysmon",) and start.get("newm") == 1 and start.has("mget", "newm")
    retake = Action(
        "sysmon.retake", seen=Refs.each("P", [0, 1]), preempt=Refs.pairs(("P", "G"), [(1, 0)])
    ).joined_by("; ")
    assert str(retake) == "sysmon.retake(seen=P0,P1; preempt=P1:G0)"
    assert retake.get("preempt") == ((("P", 1), ("G", 0)),)
    stop = Action("stopm", m=0).after(" (not on sched.midle)")
    assert str(stop) == "stopm(m=0) (not on sched.midle)" and stop.tail == " (not on sched.midle)"
    assert str(Action("gopark", m=0, g=1).throws()) == "gopark(m=0, g=1) throws"
    chain = Action.plain_text("allocm.releasep").chain(Action("startm", m=0, p=1))
    assert str(chain) == "allocm.releasep; startm(m=0, p=1)"
    assert chain.plain and chain.then == Action("startm", m=0, p=1)
    oldp = Action("exitsyscall.oldp", m=0, g=1, oldp="-").flag("busy")
    assert str(oldp) == "exitsyscall.oldp(m=0, g=1, oldp=-, busy)" and oldp.flags == ("busy",)
    assert Action("exitsyscall.oldp", m=0).arg("from m", 1).get("from m") == 1
    assert (
        str(Action.plain_text("init")) == "init"
        and str(Action("sysmon.retake")) == "sysmon.retake()"
    )


def test_an_action_is_not_text():
    with pytest.raises(TypeError):
        assert "m=1" in Action("stopm", m=1)  # type: ignore[operator]
