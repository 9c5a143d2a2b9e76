"""The lanes of the HTML view agree with the states of every shipped
counterexample: who runs where, and the moves drawn between lanes."""

from __future__ import annotations

import json

import pytest

from checker.bench.views import long_trace
from checker.views.lanes import (
    HANDOFF,
    IDLE,
    IDLE_WITH_WORK,
    PARKED,
    RUNNING,
    SPINNING,
    SYSCALL,
    _lane_of,
    lane_view,
)
from model.action import Action


@pytest.fixture(scope="module")
def docs(mutation_traces) -> list[dict]:
    files = [f for fs in mutation_traces.values() for f in fs]
    out = [json.loads(f.read_text()) for f in files]
    out.append(long_trace(600, seed=3))  # preemption, ping-pong, steals
    return out


def _cells(view: dict, lane_id: str, n: int) -> list[dict]:
    lane = next(la for la in view["lanes"] if la["id"] == lane_id)
    cells: list[dict] = [{}] * n
    for seg in lane["segments"]:
        for i in range(seg["start"], seg["end"] + 1):
            cells[i] = seg
    return cells


def test_a_label_names_the_lane_of_its_actor():
    assert _lane_of(Action.parse("stealWork(m=1, p=1, victim=0, gs=[1, 2])")) == "M1"
    assert _lane_of(Action.parse("startm(sysmon, p=0, spinning=0, newm=1)")) == "sysmon"
    assert _lane_of(Action.parse("sysmon.startm(timers overdue, p=1)")) is None
    assert _lane_of(Action.parse("init")) is None


def test_segments_tile_every_lane(docs):
    for doc in docs:
        n = len(doc["states"])
        view = lane_view(doc)
        ids = [la["id"] for la in view["lanes"]]
        assert ids[: len(doc["states"][0]["P"])] == [f"P{p['id']}" for p in doc["states"][0]["P"]]
        assert ids[-1] == "sysmon"
        for lane in view["lanes"]:
            covered = [i for s in lane["segments"] for i in range(s["start"], s["end"] + 1)]
            assert covered == list(range(n)), lane["id"]
        # A thread slot is hidden only if it never exists in the trace.
        for m in view["hidden"]:
            assert all(st["M"][int(m[1:])]["pc"] == "NOT_CREATED" for st in doc["states"])


def test_p_and_m_lanes_say_what_the_state_says(docs):
    for doc in docs:
        states = doc["states"]
        n = len(states)
        view = lane_view(doc)
        shown = {la["id"] for la in view["lanes"]}
        for p in states[0]["P"]:
            cells = _cells(view, f"P{p['id']}", n)
            for i, st in enumerate(states):
                c, pst = cells[i], st["P"][p["id"]]
                if c["kind"] == RUNNING:
                    # The G shown runs on an M that holds this P.
                    g = c["g"]
                    assert c["text"] == f"G{g}"
                    assert any(m["curg"] == g and m["p"] == p["id"] for m in st["M"])
                if c["kind"] in (IDLE, IDLE_WITH_WORK, HANDOFF):
                    assert pst["status"] == "idle"
                if c["kind"] == IDLE_WITH_WORK:
                    assert pst["runq"] or pst["runnext"] != -1
                if pst["status"] == "syscall":
                    assert c["kind"] == SYSCALL
        for m in states[0]["M"]:
            if f"M{m['id']}" not in shown:
                continue
            cells = _cells(view, f"M{m['id']}", n)
            for i, st in enumerate(states):
                c, mst = cells[i], st["M"][m["id"]]
                assert (c["kind"] == PARKED) == (mst["pc"] in ("PARKED", "LOCKED_WAIT"))
                if mst["pc"] == "IN_SYSCALL":
                    assert c["kind"] == SYSCALL and c["g"] == mst["curg"]
                if mst["pc"] == "RUN":
                    assert c["kind"] == RUNNING and c["g"] == mst["curg"]
                # (an M that threw shows the throw, spinning or not)
                if mst["spinning"] and mst["curg"] == -1 and mst["pc"] not in ("PARKED", "THROWN"):
                    assert c["kind"] == SPINNING


def test_steals_hand_offs_and_retakes_are_drawn_between_the_right_lanes(docs):
    seen = set()
    for doc in docs:
        states = doc["states"]
        arrows = {(a["step"], a["kind"]): a for a in lane_view(doc)["arrows"]}
        for i in range(1, len(states)):
            label = states[i]["#meta"]["action"]
            before, after = states[i - 1], states[i]
            if label.startswith("stealWork(") and "gs=" in label:
                a = arrows[(i, "steal")]
                thief = int(a["dst"][1:])
                victim = int(a["src"][1:])
                # The thief's M holds the thief P; the stolen G left the victim's queues.
                actor = after["M"][int(states[i]["#meta"]["actor"][1:])]
                assert actor["p"] == thief and victim != thief
                vb = before["P"][victim]
                taken = [g for g in vb["runq"] + [vb["runnext"]] if g != -1]
                assert f"G{taken[0]}" in a["text"]
                seen.add("steal")
            if label.startswith("startm("):
                a = arrows[(i, "handoff")]
                nmp = int(a["dst"][1:])
                # The M handed the P now has it as nextp.
                assert f"P{after['M'][nmp]['nextp']}" == a["text"]
                assert a["src"] == states[i]["#meta"]["actor"]
                seen.add("handoff")
            if label.startswith("sysmon.retake(p=") and "from syscall" in label:
                a = arrows[(i, "retake")]
                p = before["M"][int(a["src"][1:])]["oldp"]
                assert a["dst"] == "sysmon" and f"retake P{p}" == a["text"]
                assert before["P"][p]["status"] == "syscall"
                assert after["P"][p]["status"] != "syscall"
                seen.add("retake")
            if "preempt=" in label:
                # One arrow per P:G pair, to the P that runs the G.
                pairs = label.split("preempt=")[1].rstrip(")").split(",")
                want = set()
                for pair in pairs:
                    pp, g = (int(x[1:]) for x in pair.split(":"))
                    assert any(m["curg"] == g and m["p"] == pp for m in before["M"])
                    want.add((f"P{pp}", f"preempt G{g}"))
                got = {
                    (a["dst"], a["text"])
                    for a in lane_view(doc)["arrows"]
                    if a["step"] == i and a["kind"] == "preempt"
                }
                assert got == want, label
                seen.add("preempt")
    assert seen == {"steal", "handoff", "retake", "preempt"}  # each kind was exercised


def test_a_trace_of_another_model_has_no_lanes():
    doc = {
        "vars": ["proc", "turn"],
        "states": [{"proc": [], "turn": 0, "#meta": {"index": 0, "action": "init", "actor": None}}],
    }
    assert lane_view(doc) == {"lanes": [], "arrows": [], "actors": [], "hidden": []}
