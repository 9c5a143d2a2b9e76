"""Plug-ins (`--model FILE:NAME`): a model class with its workload, new program
counters and state fields (named, typed, renamed under symmetry, compiled or
refused with the reason), provenance (name, file hash, stale traces), the
label of an override, and the shipped examples run, replayed on Go's own
scheduler."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.engine.explore import explore
from checker.kernel import select_kernel, unsupported_reason
from checker.kernel.search import explore_compiled
from checker.plugin import PluginError, label_audit, load_plugin
from checker.views.itf import read_trace
from model.config import Config, ConfigError
from model.factory import build_model
from model.state import NONE
from specs import properties_of

EXAMPLES = ROOT / "examples"
OBSERVER = ROOT / "tests" / "plugins" / "observer.py"
KICKED = f"{EXAMPLES / 'overflow_drops_kicked.py'}:OverflowDropsKicked"
SPLIT = f"{EXAMPLES / 'wakep_split_cas.py'}:WakepSplitCas"


def plugin_model(spec: str, symmetry: bool = True, **cfg):
    p = load_plugin(spec)
    if p.workload is not None:
        cfg.setdefault("workload", p.workload.name)
    c = Config(**{**(p.config or {}), **cfg})
    return build_model(
        c, symmetry=symmetry, model_class=p.model_class, workload=p.workload, plugin=p.describe()
    )


# ---- the shipped examples ---------------------------------------------------------


def _check(tmp_path: Path, spec: str, *args: str, env: dict | None = None) -> tuple[int, str, dict]:
    out = tmp_path / "reports"
    code, stdout, err = run_cli("--model", spec, *args, "--quiet", "--out", str(out), env=env)
    assert "Traceback" not in err, err
    traces = {p.name: p for p in out.glob("*.itf.json")}
    return code, stdout, traces


def test_a_bug_that_needs_its_own_workload(tmp_path):
    code, out, traces = _check(tmp_path, KICKED, "--cores", "1", "--depth", "16")
    assert code == 1, out
    assert "workload burst4" in out  # the plug-in's own program
    assert "plug-in   overflow-drops-kicked (" in out and "sha256" in out
    assert "no-lost-g             FAIL  at depth 13" in out
    doc = read_trace(traces["no-lost-g-burst4-c1-overflow-drops-kicked.itf.json"])
    meta = doc["#meta"]["gmpcheck"]["plugin"]
    assert meta["name"] == "overflow-drops-kicked" and meta["workload"] == "burst4"
    assert meta["file"] == str(EXAMPLES / "overflow_drops_kicked.py")
    assert len(meta["sha256"]) == 64
    # the override's label says what it did
    assert doc["states"][-1]["#meta"]["action"].endswith("(drops G3)")
    # --workload cannot be given with a plug-in that brings its own
    code, _, err = run_cli("--model", KICKED, "--workload", "mixed", "--quiet")
    assert code == 2 and "brings its own workload (burst4)" in err


def test_a_bug_that_adds_a_step_and_a_field(tmp_path):
    auto = {"GMPCHECK_KERNEL": "auto"}  # the kernel line says why it runs the Python steps
    code, out, traces = _check(
        tmp_path, SPLIT, "--cores", "2", "--depth", "12", "--coverage", env=auto
    )
    assert code == 1, out
    assert "spinning-accounting   FAIL  at depth 11" in out
    assert "spinning-policy       FAIL" in out
    step = next(x for x in out.splitlines() if x.strip().startswith("M WAKEP_STORE"))
    assert "WakepSplitCas.wakep_store" in step and "(plug-in)" in step
    # per-M fields under symmetry: the Python canonical form renames them
    assert "per-M state fields, which only the Python canonical form renames" in out
    doc = read_trace(traces["spinning-accounting-mixed-c2-wakep-split-cas.itf.json"])
    pcs = [m["pc"] for st in doc["states"] for m in st["M"]]
    assert "WAKEP_STORE" in pcs
    assert any(m["cas_pending"] for st in doc["states"] for m in st["M"])
    code, view, _ = run_cli("view", str(traces[next(iter(traces))]), "--no-pager")
    assert code == 0 and "cas_pending" in view and "plug-in wakep-split-cas" in view


@pytest.mark.parametrize(
    "spec, args, name, step",
    [
        (KICKED, ("--cores", "1", "--depth", "16"), "no-lost-g", "runqputslow.grab("),
        (SPLIT, ("--cores", "2", "--depth", "12"), "spinning-accounting", "wakep.load("),
    ],
)
def test_an_example_replays_on_go_scheduler_up_to_the_step_it_changes(
    tmp_path, spec, args, name, step
):
    code, _, traces = _check(tmp_path, spec, *args, "--property", name)
    assert code == 1
    (trace,) = traces.values()
    code, out, err = run_cli("replay", str(trace), "--json")
    assert code == 5, err
    res = json.loads(out)
    assert res["plugin"] and res["runtime_mutation"] is None
    d = res["divergence"]
    assert d["label"].startswith(step)
    assert d["fields"]  # the fields where Go's runtime parts from the trace
    assert res["replayed"] == d["step"] - 1
    code, out, _ = run_cli("replay", str(trace))
    assert "no runtime twin, so Go's own scheduler runs" in out


def test_the_html_view_names_the_plug_in(tmp_path):
    _, _, traces = _check(tmp_path, KICKED, "--cores", "1", "--depth", "16")
    page = tmp_path / "t.html"
    code, _, err = run_cli("view", str(next(iter(traces.values()))), "--html", str(page))
    assert code == 0, err
    text = page.read_text()
    assert '"plugin":{"name":"overflow-drops-kicked"' in text and "plug-in" in text


def test_the_examples_override_labels_say_what_they_did():
    for spec, cores in ((KICKED, 1), (SPLIT, 2)):
        assert label_audit(plugin_model(spec, symmetry=False, cores=cores)) == []


def test_an_override_that_keeps_the_base_label_is_noted(tmp_path):
    f = tmp_path / "quiet.py"
    f.write_text(
        textwrap.dedent(
            """
            from model.gmp import GMPModel
            from model.pcs import PC
            from model.state import q_remove

            class Quiet(GMPModel):
                def exitsyscall0(self, s, m, c):
                    g = s[self.L.curg[m]]
                    label = super().exitsyscall0(s, m, c)
                    if s[self.L.pc[m]] == PC.STOPM:
                        q_remove(s, self.L.grunq, self.L.nG, g)
                    return label
            """
        )
    )
    code, out, _ = run_cli(
        "--model", f"{f}:Quiet", "--cores", "1", "--workload", "syscall-heavy", "--depth", "11",
        "--property", "no-lost-g", "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 1
    assert "plug-in   Quiet (" in out  # an unnamed plug-in is named after NAME
    assert "note      Quiet.exitsyscall0 keeps the label 'exitsyscall0(" in out


# ---- provenance ------------------------------------------------------------------


def test_a_trace_of_a_changed_plug_in_is_stale(tmp_path):
    f = tmp_path / "kicked.py"
    shutil.copy(EXAMPLES / "overflow_drops_kicked.py", f)
    _, _, traces = _check(tmp_path, f"{f}:OverflowDropsKicked", "--cores", "1", "--depth", "16")
    trace = str(next(iter(traces.values())))
    assert run_cli("view", trace, "--no-pager")[0] == 0
    f.write_text(f.read_text() + "\n# edited\n")
    code, _, err = run_cli("view", trace, "--no-pager")
    assert code == 2 and "which has changed since" in err and len(err.strip().splitlines()) == 1
    assert run_cli("view", trace, "--no-pager", "--allow-stale")[0] == 0
    code, _, err = run_cli("replay", trace)
    assert code == 2 and "which has changed since" in err
    f.unlink()
    code, _, err = run_cli("view", trace, "--no-pager")
    assert code == 2 and "which is gone" in err


@pytest.mark.parametrize(
    "source, needle",
    [
        (
            "class X(GMPModel):\n    mutation_name = 'wakep-no-cas'\n",
            "is named 'wakep-no-cas', which is a registered mutation's name",
        ),
        (
            "X = Workload('mixed', 'd', {'main': ['exit']})\n",
            "is named 'mixed', which is a shipped workload's name",
        ),
        (
            "class X(GMPModel):\n    program_counters = {'MINE': 30}\n",
            "program counter MINE = 30: a variant's are 64 to 249",
        ),
        (
            "class X(GMPModel):\n    program_counters = {'SCHEDULE': 70}\n",
            "program counter SCHEDULE is the model's own",
        ),
        (
            "class X(GMPModel):\n    program_counters = {'MINE': 70}\n",
            "program counter MINE has no @step method",
        ),
        (
            "class X(GMPModel):\n    @step(71)\n    def mine(self, s, a, c):\n        return 'x'\n",
            "a @step at program counter 71, which is neither the model's",
        ),
        (
            "class X(GMPModel):\n    state_fields = (StateField('who', scope='M', kind='G'),)\n",
            "a per-M field holds a flag or a count",
        ),
        (
            "class X(GMPModel):\n    state_fields = (StateField('runq'),)\n",
            "state field 'runq' is already a field of sched",
        ),
        (
            "class X(GMPModel):\n    plugin_config = {'ring': 3}\n",
            "--ring must be a power of two",
        ),
    ],
)
def test_bad_plug_ins_are_one_line_and_exit_2(tmp_path, source, needle):
    f = tmp_path / "bad.py"
    head = (
        "from model.gmp import GMPModel\nfrom model.machine import step\n"
        "from model.extension import StateField\nfrom model.workloads import Workload\n"
    )
    f.write_text(head + source)
    code, out, err = run_cli("--model", f"{f}:X", "--cores", "1", "--depth", "2", "--quiet")
    assert code == 2, (out, err)
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ---- fields under symmetry, in the compiled kernel and the symbolic engine -----


def _observer(name: str, symmetry: bool, **cfg):
    return plugin_model(f"{OBSERVER}:{name}", symmetry=symmetry, **cfg)


@pytest.mark.parametrize("name", ["ObserverSched", "Observer"])
def test_the_symmetric_search_finds_exactly_the_orbits_with_plug_in_fields(name):
    plain = _observer(name, False, cores=3, workload="mixed")
    sym = _observer(name, True, cores=3, workload="mixed")
    ex_plain = explore(plain, [], depth=9)
    ex_sym = explore(sym, [], depth=9)
    assert len(ex_sym.states) < len(ex_plain.states)
    assert set(ex_sym.states) == {sym.canonical(s) for s in ex_plain.states}
    # the fields are set along the way
    L = plain.L
    assert any(s[L.extra["last_g"]] != NONE for s in ex_plain.states)
    assert any(s[L.extra["wakeups"]] for s in ex_plain.states)


@pytest.fixture(scope="module")
def observer_states():
    plain = _observer("Observer", False, cores=3, workload="mixed")
    return _observer("Observer", True, cores=3, workload="mixed"), explore(
        plain, [], depth=8
    ).states


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_canonical_form_renames_plug_in_fields(observer_states, data):
    """Any values in the fields (not only reachable ones): every renaming of
    a state has the same canonical form, and the fields go with what they
    belong to or name."""
    model, states = observer_states
    L = model.L
    s = bytearray(data.draw(st.sampled_from(states)))
    refs = {"G": L.nG, "P": L.nP, "M": L.nM}
    for f in L.extra_fields:
        at = L.extra[f.name]
        for off in [at] if isinstance(at, int) else at:
            if f.is_ref:
                s[off] = data.draw(st.sampled_from([NONE, *range(refs[f.kind])]))
            else:
                s[off] = data.draw(st.integers(0, 1 if f.kind == "flag" else f.limit))
    s = bytes(s)
    perm = [data.draw(st.permutations(range(n))) for n in (L.nP, L.nM, L.nG)]
    renamed = model.symmetry.rename(s, *perm)
    assert model.canonical(renamed) == model.canonical(s)
    # a field naming a G names the renamed G; a per-G field moved with it
    porder, morder, gorder = perm
    g = s[L.extra["last_g"]]
    if g != NONE:
        assert renamed[L.extra["last_g"]] == gorder.index(g)
    for new, old in enumerate(gorder):
        assert renamed[L.extra["stolen"][new]] == s[L.extra["stolen"][old]]
    for new, old in enumerate(morder):
        assert renamed[L.extra["spun"][new]] == s[L.extra["spun"][old]]


def test_compiled_kernel_follows_sched_fields_under_symmetry():
    model = _observer("ObserverSched", True, cores=3, workload="mixed")
    assert unsupported_reason(model) is None
    props = [p for p in properties_of(model) if p.kind != "liveness"]
    k = select_kernel(model, props, "compiled").kernel
    assert k is not None
    a = explore(model, props, depth=9)
    b = explore_compiled(k, model, props, depth=9)
    assert len(a.states) == len(b.states) and a.transitions == b.transitions
    assert list(a.parent) == [int(x) for x in b.parent]
    assert a.coverage == b.coverage


def test_per_entity_fields_compile_without_symmetry_and_are_refused_with_it(tmp_path):
    model = _observer("Observer", True, cores=2, workload="mixed")
    assert "per-G/M/P state fields" in unsupported_reason(model)
    plain = _observer("Observer", False, cores=2, workload="mixed")
    assert unsupported_reason(plain) is None
    props = [p for p in properties_of(plain) if p.kind != "liveness"]
    k = select_kernel(plain, props, "compiled").kernel
    a, b = explore(plain, props, depth=8), explore_compiled(k, plain, props, depth=8)
    assert len(a.states) == len(b.states) and a.coverage == b.coverage
    args = ["--model", SPLIT, "--cores", "2", "--depth", "4", "--quiet", "--kernel", "compiled"]
    code, _, err = run_cli(*args, cwd=tmp_path)
    assert code == 2 and "--kernel compiled: (the variant adds per-M state fields" in err
    code, out, err = run_cli(*args, "--no-symmetry", "--out", str(tmp_path), cwd=tmp_path)
    assert code in (0, 4), err
    assert "kernel    compiled" in out


def test_the_symbolic_engine_runs_a_plug_in_or_refuses_it_in_words(tmp_path):
    code, out, err = run_cli(
        "--model", KICKED, "--cores", "1", "--depth", "13", "--engine", "smt",
        "--property", "no-lost-g", "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 1, (out, err)
    assert "no-lost-g" in out
    f = tmp_path / "fmt.py"
    f.write_text(
        "from model.gmp import GMPModel\n"
        "class Fmt(GMPModel):\n"
        "    def wakep_cas(self, s, a, c):\n"
        "        return super().wakep_cas(s, a, c) + f' ({s[self.L.nmspinning]:03d})'\n"
    )
    base = [
        "--model",
        f"{f}:Fmt",
        "--cores",
        "2",
        "--depth",
        "3",
        "--quiet",
        "--out",
        str(tmp_path),
    ]
    code, _, err = run_cli(*base, "--engine", "smt")
    assert code == 2 and "the symbolic engine cannot follow" in err, err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run_cli(*base, "--kernel", "compiled")
    assert code == 2 and "--kernel compiled:" in err, err
    code, out, err = run_cli(*base)  # auto: the Python steps, and why
    assert code in (0, 4), err
    assert "kernel    python (" in out


def test_a_plug_in_config_error_is_a_config_error():
    with pytest.raises(ConfigError, match="has no @step method"):

        class NoStep(build_model(Config(cores=1)).__class__):
            program_counters = {"LONELY": 80}

        NoStep(Config(cores=1))
    with pytest.raises(PluginError, match="expected FILE:NAME"):
        load_plugin("nofile")


def test_a_plug_in_that_raises_as_its_model_is_made_is_refused_in_one_line(tmp_path):
    f = tmp_path / "raises.py"
    f.write_text(
        "from model.gmp import GMPModel\n\n"
        "class X(GMPModel):\n    def __init__(self, *a, **k):\n        raise RuntimeError('no')\n"
    )
    code, out, err = run_cli("--cores", "1", "--depth", "2", "--model", f"{f}:X", "--quiet")
    assert code == 2, (code, out, err)
    assert "making the model raised RuntimeError: no" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_plug_in_step_that_raises_is_refused_in_one_line_naming_it(tmp_path):
    f = tmp_path / "step.py"
    f.write_text(
        "from model.gmp import GMPModel\n\nclass X(GMPModel):\n    mutation_name = 'raises'\n"
        "    def runqput_next(self, s, m, p, g):\n        raise ValueError('boom')\n"
    )
    args = ("--cores", "1", "--workload", "spawn-burst", "--depth", "6", "--quiet")
    code, out, err = run_cli(*args, "--model", f"{f}:X", "--out", str(tmp_path / "o"))
    assert code == 2, (code, out, err)
    assert "its code raised ValueError: boom" in err and f"{f}:6" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        # A field written out of what the state holds (a byte here).
        (
            "    def runqput_next(self, s, m, p, g):\n        super().runqput_next(s, m, p, g)\n"
            "        s[self.L.runnext[p]] = 9999\n",
            "wrote 9999 into runnext[",
        ),
        (
            "    def runqput_next(self, s, m, p, g):\n        super().runqput_next(s, m, p, g)\n"
            "        s[self.L.runnext[p]] = -1\n",
            "wrote -1 into runnext[",
        ),
        # A step whose result is no label.
        (
            "    def run(self, s, m, c):\n        super().run(s, m, c)\n",
            "its step run returned NoneType, not an Action",
        ),
        # A G that does not exist, a state of another length.
        (
            "    def runqput_next(self, s, m, p, g):\n        super().runqput_next(s, m, p, g)\n"
            "        s[self.L.runnext[p]] = 200\n",
            "wrote 200 into runnext[",
        ),
        (
            "    def runqput_next(self, s, m, p, g):\n        super().runqput_next(s, m, p, g)\n"
            "        s.append(0)\n",
            "made the state 132 fields long; it has 131",
        ),
        # Choices the model's own step cannot read: the model failed on the
        # plug-in's change, which is said as such.
        (
            "    def run_choices(self, t, m):\n        return None\n",
            "the model failed on what the plug-in changed: TypeError",
        ),
        # sys.exit in the plug-in's code: not a silent exit 0.
        (
            "    def runqput_next(self, s, m, p, g):\n        import sys\n        sys.exit(0)\n",
            "its code called sys.exit(0)",
        ),
    ],
)
def test_a_plug_in_step_that_leaves_what_the_model_cannot_use_is_one_line(tmp_path, body, needle):
    f = tmp_path / "step.py"
    f.write_text("from model.gmp import GMPModel\n\nclass X(GMPModel):\n" + body)
    args = ("--cores", "2", "--workload", "spawn-burst", "--depth", "8", "--quiet")
    code, out, err = run_cli(*args, "--model", f"{f}:X", "--out", str(tmp_path / "o"))
    assert code == 2, (code, out, err)
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
