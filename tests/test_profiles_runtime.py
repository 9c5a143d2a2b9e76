"""The reference runtime on the go1.26 profile (runtime/go126.py): Go
1.26's system calls without _Psyscall. Its steps against the model's are
in test_runtime_conformance.py (random walks) and test_runtime_replay.py
(every mutation's counterexample); here: the rare path of an M that steals
its old P back from another M's system call, runtimes broken in Go 1.26's
own places and where replay catches them, the factory, and the command
line (replay and record take go1.26)."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from checker.engine.trace import INIT, Step
from checker.replay.replay import replay
from checker.views.itf import trace_document
from model.config import Config, ConfigError
from model.factory import build_model
from runtime.factory import build_runtime
from runtime.go126 import Runtime126
from runtime.objects import M, P
from runtime.scheduler import Runtime
from runtime.stress import stress


def _trace_to(cfg: Config, found) -> dict:
    """A trace of the model from its start to the first step whose label
    `found` accepts (a breadth-first search: the shortest such run)."""
    model = build_model(cfg, symmetry=False)
    t0 = model.initial_states()[0]
    parent: dict[bytes, tuple] = {t0: ()}
    frontier = [t0]
    while frontier:
        nxt = []
        for t in frontier:
            for a, label, u in model.successors(t)[0]:
                if u in parent:
                    continue
                parent[u] = (t, a, label)
                if found(str(label)):
                    steps = []
                    while parent[u]:
                        t, a, label = parent[u]
                        steps.append(Step(a, label, u))
                        u = t
                    steps.append(Step(None, INIT, t0))
                    meta = {"engine": "explicit", "property": None, "kind": "walk"}
                    return trace_document(model, steps[::-1], {**meta, "depth": len(steps) - 1})
                nxt.append(u)
        frontier = nxt
    raise AssertionError("no such step")


CFG = Config(cores=1, workload="syscall-heavy", profile="go1.26")


@pytest.fixture(scope="module")
def steal_back() -> dict:
    """M0 left its system call to find its P taken (sysmon handed it to
    another M, whose G is now in a system call on it): it steals it back."""
    return _trace_to(CFG, lambda label: label.startswith("exitsyscall.oldp") and "from m" in label)


def test_an_m_steals_its_old_p_back_from_another_syscall_on_real_threads(steal_back):
    actions = [st["#meta"]["action"] for st in steal_back["states"]]
    assert any("sysmon.retake" in a and "from syscall" in a for a in actions)
    assert any("lost P" in a for a in actions)
    res = replay(steal_back)
    assert res.divergence is None, res.divergence.lines()
    assert res.steps == len(steal_back["states"]) - 1


class NoStealBack(Runtime126):
    """Not Go: exitsyscallTryGetP goes straight for an idle P."""

    def exitsyscallTryGetP(self, mp: M, oldp: int | None) -> P | None:
        return super().exitsyscallTryGetP(mp, None)


class TakePKeepsSyscalltick(Runtime126):
    """Not Go: retake takes the P without releaseP's pp.syscalltick++."""

    def retake_syscall_p(self, pp: P) -> None:
        tick = pp.syscalltick
        super().retake_syscall_p(pp)
        pp.syscalltick = tick


class KeepsGo125Entersyscall(Runtime126):
    """Not Go 1.26: reentersyscall still unwires the P (pp.m = 0, m.p = 0)
    as Go 1.25 did, though it leaves the P _Prunning."""

    def entersyscall(self, mp: M) -> None:
        p = mp.p
        super().entersyscall(mp)
        self.allp[p].m = None  # type: ignore[index]
        mp.p = None


def _first(doc: dict, prefix: str, *words: str) -> int:
    """The first step whose label starts with `prefix` and has `words`."""
    return next(
        i
        for i, st in enumerate(doc["states"])
        if st["#meta"]["action"].startswith(prefix)
        and all(w in st["#meta"]["action"] for w in words)
    )


@pytest.mark.parametrize(
    "broken, step, field",
    [
        (KeepsGo125Entersyscall, ("entersyscall(",), ("P[0].m", 0, -1)),
        (
            TakePKeepsSyscalltick,
            ("sysmon.retake", "from syscall"),
            ("P[0].sysmon_syscall_age", 0, 1),
        ),
        (NoStealBack, ("exitsyscall.oldp", "from m"), ("M[0].p", 0, -1)),
    ],
    ids=["entersyscall", "takeP", "exitsyscallTryGetP"],
)
def test_a_broken_go126_runtime_parts_ways_at_its_step_and_field(steal_back, broken, step, field):
    """Each of Go 1.26's new places broken in the runtime: replay names the
    first step where it acts, and the field it leaves otherwise."""
    d = replay(steal_back, runtime_class=broken).divergence
    assert d is not None, f"{broken.__name__} followed the whole trace"
    assert d.step == _first(steal_back, *step), d.lines()
    assert field in d.fields, d.fields


def test_the_factory_puts_go126_under_the_runtime_and_its_mutations():
    assert type(build_runtime(CFG)) is Runtime126
    assert type(build_runtime(Config(cores=1))) is Runtime
    rt = build_runtime(Config(cores=1, workload="syscall-heavy", mutation="exitsyscall-drops-g",
                              profile="go1.26"))  # fmt: skip
    assert isinstance(rt, Runtime126) and rt.mutation_name == "exitsyscall-drops-g"
    assert type(rt).__mro__[1].__name__ == "ExitsyscallDropsG"  # the bug's overrides win
    with pytest.raises(ConfigError, match="exitsyscall-no-cas"):
        build_runtime(Config(profile="go1.26", mutation="exitsyscall-no-cas"))


def test_replay_reproduces_a_go126_counterexample(tmp_path):
    code, out, err = run_cli(
        "--profile", "go1.26", "--cores", "1", "--workload", "syscall-heavy",
        "--mutation", "exitsyscall-drops-g", "--depth", "11", "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 1, out + err
    (trace,) = tmp_path.glob("no-lost-g-*.itf.json")
    code, out, err = run_cli("replay", str(trace))
    assert code == 0, err
    assert "profile go1.26" in out and "reproduced on real threads: no-lost-g" in out
    code, out, _ = run_cli("replay", str(trace), "--correct", "--json")
    assert code == 5
    d = json.loads(out)["divergence"]
    assert d["label"].startswith("exitsyscallNoP") and "not queued" in d["label"]
    code, out, _ = run_cli("replay", str(trace), "--correct")
    assert "Go 1.26 scheduler (no _Psyscall) (--correct)" in out


def test_record_under_go126_is_accepted_by_the_model(tmp_path):
    for seed in (1, 2):
        code, out, err = run_cli(
            "record", "--profile", "go1.26", "--workload", "syscall-heavy", "--cores", "2",
            "--seed", str(seed), "--out", str(tmp_path),
        )  # fmt: skip
        assert code == 0, out + err
        assert "accepted by the model" in out
    for trace in tmp_path.glob("*.itf.json"):
        assert json.loads(trace.read_text())["#meta"]["gmpcheck"]["config"]["profile"] == "go1.26"
        code, out, err = run_cli("replay", str(trace))
        assert code == 0, out + err


def test_record_refuses_a_mutation_go126_does_not_have(tmp_path):
    code, _, err = run_cli(
        "record", "--profile", "go1.26", "--mutation", "exitsyscall-no-cas", "--out", str(tmp_path)
    )
    assert code == 2 and "exitsyscall-no-cas" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing recorded


def test_record_and_replay_help_print_their_own_exit_codes():
    for cmd, line in (
        ("record", "1   accepted, but a safety property is violated"),
        ("replay", "5   the runtime parts ways with the trace"),
    ):
        code, out, _ = run_cli(cmd, "--help")
        assert code == 0 and line in out and "go1.26" in out
        assert "3   a liveness property" not in out  # check's table is not theirs


def test_the_stress_run_completes_on_go126():
    """Hundreds of goroutines with system calls, blocking ones too, on real
    threads and Go 1.26's system calls: all run to the end exactly once."""
    res = stress(cores=4, max_ms=8, branches=10, leaves=20, seed=3, seconds=120,
                 hang_after=15, profile="go1.26")  # fmt: skip
    assert res.ok, "\n".join(res.problems + (res.run.dump or []))
