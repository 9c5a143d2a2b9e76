"""Every trace the checker writes is valid ITF of the documented schema, and
states in it re-execute through the model."""

from __future__ import annotations

import json

import pytest

from checker.views.itf import SCHEMA, read_trace, validate
from model.mutations import MUTATIONS

BUGS = [m for m in MUTATIONS.values() if not m.benign]


@pytest.fixture(scope="module")
def traces(mutation_traces):
    files = sorted(f for fs in mutation_traces.values() for f in fs)
    assert len(files) >= len(BUGS) and all(mutation_traces.values())
    return files


def test_every_written_trace_follows_the_schema(traces):
    for f in traces:
        doc = json.loads(f.read_text())
        assert validate(doc) is None, f
        meta = doc["#meta"]
        assert meta["format"] == "ITF" and meta["schema"] == SCHEMA
        g = meta["gmpcheck"]
        assert g["property"] and g["message"] and g["mutation"]
        assert g["depth"] == len(doc["states"]) - 1
        assert doc["vars"] == ["G", "P", "M", "sysmon", "sched"]
        for i, st in enumerate(doc["states"]):
            assert st["#meta"]["index"] == i
            assert (st["#meta"]["actor"] is None) == (i == 0)
            # ITF has no null: "none" is -1
            assert "null" not in json.dumps({k: st[k] for k in doc["vars"]})


def test_a_trace_s_states_are_the_model_s_own(traces):
    from model.config import Config
    from model.factory import build_model

    for f in traces[:4]:
        doc = read_trace(f)
        cfg = doc["#meta"]["gmpcheck"]["config"]
        model = build_model(
            Config(**{k: v for k, v in cfg.items() if k != "max_ms"}, max_ms=cfg["max_ms"])
        )
        # Walk the model along the labels: each labelled step exists and gives the next view.
        cur = model.initial_states()[0]
        from checker.views.itf import _itf_value

        assert _itf_value(model.view(cur)) == {k: doc["states"][0][k] for k in doc["vars"]}
        for st in doc["states"][1:]:
            succ, _ = model.successors(cur)
            nxt = [u for _, label, u in succ if str(label) == st["#meta"]["action"]]
            assert nxt, st["#meta"]["action"]
            views = [_itf_value(model.view(u)) for u in nxt]
            want = {k: st[k] for k in doc["vars"]}
            assert want in views
            cur = nxt[views.index(want)]


def test_validate_names_what_is_wrong():
    assert "not an ITF trace" in validate([])
    assert "not a gmpcheck trace" in validate({"#meta": {}})
    assert "unknown trace schema" in validate({"#meta": {"source": "gmpcheck", "schema": "x"}})
