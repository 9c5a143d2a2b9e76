"""Workloads compile, and bad ones are rejected with a clear reason."""

from __future__ import annotations

import pytest

from model.workloads import WORKLOADS, Op, Workload, WorkloadError


def test_every_shipped_workload_compiles_and_documents_itself():
    for w in WORKLOADS.values():
        c = w.compile()
        assert w.description
        assert c.max_gs >= len(c.starts)
        assert all(0 <= n < len(c.ops) for n in c.nextpc)


def test_goto_loops_resolve_and_spin_loops_on_itself():
    c = WORKLOADS["gosched-starve"].compile()
    main = c.entry[0]
    gosched = next(pc for pc in range(main, len(c.ops)) if c.ops[pc] == Op.GOSCHED)
    assert c.nextpc[gosched] == gosched  # `loop: gosched; goto loop`
    c = WORKLOADS["tight-loop"].compile()
    spin = c.ops.index(Op.SPIN)
    assert c.nextpc[spin] == spin


@pytest.mark.parametrize(
    "programs,needle",
    [
        ({"main": ["jump"]}, "unknown instruction 'jump'"),
        ({"main": ["go nowhere"]}, "go of unknown program"),
        ({"main": ["goto nowhere"]}, "goto unknown label"),
        ({"main": ["park"]}, "park needs an argument"),
        ({"main": ["exit now"]}, "exit takes no argument"),
        ({"other": ["exit"]}, "no program named 'main'"),
        ({"main": ["a: goto a"]}, "goto loop with no instruction"),
    ],
)
def test_bad_workloads_are_rejected(programs, needle):
    with pytest.raises(WorkloadError, match=needle):
        Workload("bad", "a bad one", programs).compile()
