"""The bad inputs of the hostile probe (checker/bench/hostile.py).

`input_cases(work, trace, seed)` writes the bad files under `work` and
returns the command lines that read them: traces for `view`, `view --html`
and `replay` (truncated, wrong types, impossible states, deep nesting, huge
integers, lone surrogates, binary, endless, empty, control sequences in
labels, and seeded random edits), dumps for `conform --trace`, manifests
for `gate`, bad values of every numeric flag of `check`, bad `--out` paths
and bad plug-ins. The list depends on the seed only.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from checker.bench.processes import ROOT

# States a trace cannot hold (tests/test_view_validation.py refuses each).
IMPOSSIBLE: dict[str, Callable[[dict], object]] = {
    "unknown G status": lambda s: s["G"][0].__setitem__("status", "zombie"),
    "P[0].m = 99": lambda s: s["P"][0].__setitem__("m", 99),
    "nmspinning = -5": lambda s: s["sched"].__setitem__("nmspinning", -5),
    "a missing P": lambda s: s["P"].pop(),
    "an extra G": lambda s: s["G"].append(dict(s["G"][0], id=len(s["G"]))),
    "a P index as text": lambda s: s["P"][0].__setitem__("runnext", "1"),
    "a run queue of a G that does not exist": lambda s: s["sched"]["runq"].append(7),
    "an M pc that does not exist": lambda s: s["M"][0].__setitem__("pc", "NOWHERE"),
}

# Text that is not JSON a reader can take whole.
NASTY_JSON = {
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "deep objects": '{"a":' * 5000 + "1" + "}" * 5000,
    "5000 digits": '{"a": ' + "7" * 5000 + "}",
    "lone surrogate": '{"#meta": {"source": "gmpcheck", "x": "\\ud800"}}',
    "NaN literal": '{"#meta": NaN, "states": [Infinity]}',
    "a string": '"trace"',
    "null": "null",
    "an empty object": "{}",
}

NUMERIC_FLAGS = (
    "--cores", "--depth", "--max-states", "--workers", "--max-ms", "--ring", "--period",
    "--steal-tries", "--checkpoint-every", "--solver-timeout",
)  # fmt: skip
BAD_NUMBERS = ("nan", "inf", "-1", "1e400", "1" + "0" * 5000, "", "x")

VIEW = frozenset({0, 2})
REPLAY = frozenset({0, 2, 5})
CONFORM = frozenset({0, 1, 2, 4})
GATE = frozenset({0, 1, 2, 3, 4, 6})
CHECK = frozenset({0, 1, 2, 3, 4})
SMALL = ["--cores", "1", "--depth", "2", "--quiet"]


@dataclass
class InputCase:
    kind: str  # the row of the table it counts in
    name: str
    args: list[str]
    allowed: frozenset[int]
    out_dir: str | None = None  # a directory that must hold no temporary file


def _write(f: Path, content: str | bytes) -> Path:
    """An input file as given: bytes as they are, text as UTF-8 (a lone
    surrogate written as its bytes)."""
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content, encoding="utf-8", errors="surrogatepass")
    return f


def _edit_trace(doc: dict, rng: random.Random) -> dict:
    """One seeded random edit: a value somewhere replaced by a value of
    another type or range."""
    doc = copy.deepcopy(doc)
    paths: list[tuple] = []

    def walk(v, p):
        paths.append(p)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, (*p, k))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, (*p, i))

    walk(doc, ())
    path = rng.choice(paths[1:])
    value: object = rng.choice(
        [None, True, -1, 2**70, -(2**63), 1.5, "", "\x1b[31m", [], {}, [[[]]], {"a": 1}, "G99"]
    )
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return doc


def _trace_files(work: Path, trace: Path, rng: random.Random) -> dict[str, Path]:
    text = trace.read_text()
    doc = json.loads(text)
    d = work / "traces"
    d.mkdir()
    files: dict[str, Path] = {}

    def put(name: str, content: str | bytes) -> None:
        files[name] = _write(d / f"t{len(files):03d}.itf.json", content)

    put("empty", "")
    for cut in sorted(rng.sample(range(1, len(text)), 3)):
        put(f"truncated at byte {cut}", text[:cut])
    put("binary", rng.randbytes(4096))
    put("NUL bytes", b"\x00" * 1000)
    put("UTF-16", text.encode("utf-16"))
    for name, content in NASTY_JSON.items():
        put(name, content)

    def edited(name: str, change: Callable[[dict], object]) -> None:
        e = copy.deepcopy(doc)
        change(e)
        put(name, json.dumps(e))

    edited("cores 1.5", lambda e: e["#meta"]["gmpcheck"]["config"].update(cores=1.5))
    edited("max_ms 10**8", lambda e: e["#meta"]["gmpcheck"]["config"].update(max_ms=10**8))
    edited("cores 10**400", lambda e: e["#meta"]["gmpcheck"]["config"].update(cores=10**400))
    edited("property a list", lambda e: e["#meta"]["gmpcheck"].update(property=["a"]))
    edited("actor 7", lambda e: e["states"][1]["#meta"].update(actor=7))
    edited("states not a list", lambda e: e.update(states={"0": 1}))
    edited("no states", lambda e: e.update(states=[]))
    edited("no #meta", lambda e: e.pop("#meta"))
    edited("a state a string", lambda e: e["states"].__setitem__(1, "state"))
    edited(
        "ESC sequences in labels",
        lambda e: (
            e["#meta"]["gmpcheck"].update(message="\x1b[2J\x1b]0;owned\x07PASS\r"),
            e["states"][1]["#meta"].update(action="step\x1b[31m red \x9b\x00"),
        ),
    )
    edited(
        "ESC in the workload name",
        lambda e: e["#meta"]["gmpcheck"].update(workload="mixed\x1b[8m", mutation="\x1b]8;;x\x07"),
    )
    edited("a lone surrogate in a label", lambda e: e["states"][1]["#meta"].update(action="\ud800"))
    for name, change in IMPOSSIBLE.items():
        edited(name, lambda e, change=change: change(e["states"][-1]))  # type: ignore[misc]
    for i in range(10):
        put(f"random edit {i}", json.dumps(_edit_trace(doc, rng)))
    files["/dev/zero"] = Path("/dev/zero")
    files["/dev/urandom"] = Path("/dev/urandom")
    files["a directory"] = d
    files["a missing file"] = d / "missing.itf.json"
    return files


def _trace_cases(work: Path, trace: Path, rng: random.Random) -> list[InputCase]:
    cases = []
    html = work / "html"
    html.mkdir()
    for name, f in _trace_files(work, trace, rng).items():
        cases.append(InputCase("view", name, ["view", str(f), "--no-pager"], VIEW))
        page = str(html / f"{f.name}.html")
        cases.append(InputCase("view --html", name, ["view", str(f), "--html", page], VIEW, "html"))
        cases.append(InputCase("replay", name, ["replay", str(f)], REPLAY))
    return cases


def _dump_cases(work: Path, rng: random.Random) -> list[InputCase]:
    src = (ROOT / "tests" / "conform" / "traces" / "spawn-p2.parsed.txt").read_text()
    lines = src.splitlines(keepends=True)
    d = work / "dumps"
    d.mkdir()
    dumps: dict[str, str | bytes] = {
        "empty": "",
        "binary": rng.randbytes(2048),
        "truncated": src[: rng.randrange(1, len(src))],
        "ESC in an event": "".join(lines[:5]) + "\x1b[2J\x1b]0;x\x07 G1 EvGoCreate\n",
        "huge numbers": "".join(lines[:5]).replace("1", "9" * 400),
    }
    for _ in range(5):
        cut = list(lines)
        j = rng.randrange(1, len(cut))
        op = rng.choice(["drop", "dup", "garble"])
        if op == "drop":
            del cut[j]
        elif op == "dup":
            cut.insert(j, cut[j])
        else:
            cut[j] = "".join(chr(rng.randrange(32, 0x3000)) for _ in range(40)) + "\n"
        dumps[f"{op} line {j}"] = "".join(cut)
    cases = []
    for i, (name, content) in enumerate(dumps.items()):
        f = _write(d / f"d{i}.parsed.txt", content)
        cases.append(InputCase("conform --trace", name, ["conform", "--trace", str(f)], CONFORM))
    for name in ("/dev/zero", "a missing file"):
        f = Path("/dev/zero") if name == "/dev/zero" else d / "missing"
        cases.append(InputCase("conform --trace", name, ["conform", "--trace", str(f)], CONFORM))
    return cases


def _manifest_cases(work: Path, rng: random.Random) -> list[InputCase]:
    d = work / "manifests"
    d.mkdir()
    head = '{"schema": "gmpcheck.gate-manifest/1", "cells": '
    manifests: dict[str, str | bytes] = {
        "empty": "",
        "binary": rng.randbytes(1024),
        "another schema": '{"schema": "x/9", "cells": {}}',
        "cells a number": head + "7}",
        "cells a list": head + "[1, 2]}",
        "a cell with a negative count": head + '{"safety/mixed/c2": {"states": -1}}}',
        "a cell with a huge count": head + '{"safety/mixed/c2": {"states": ' + "9" * 5000 + "}}}",
        "ESC in a cell name": head + '{"\\u001b[2Jx": {"states": 1}}}',
        **NASTY_JSON,
    }
    for i in range(4):
        cells = {f"c{rng.randrange(99)}": rng.choice([None, 1, "x", [1], {"states": 2**70}])}
        manifests[f"random cells {i}"] = head + json.dumps(cells) + "}"
    cases = []
    for i, (name, content) in enumerate(manifests.items()):
        f = _write(d / f"m{i}.json", content)
        args = ["gate", "--quick", "--quiet", "--manifest", str(f), "--out", str(work / "gate")]
        cases.append(InputCase("gate --manifest", name, args, GATE, "gate"))
    cases.append(InputCase("gate --manifest", "a directory", ["gate", "--manifest", str(d)], GATE))
    return cases


def _flag_cases() -> list[InputCase]:
    cases = []
    for flag in NUMERIC_FLAGS:
        extra = ["--engine", "smt"] if flag == "--solver-timeout" else []
        for value in BAD_NUMBERS:
            shown = value if len(value) < 12 else "10**5000"
            args = [*SMALL, *extra, flag, value, "--out", "flags"]
            cases.append(InputCase("check flags", f"{flag} {shown!r}", args, CHECK, "flags"))
    return cases


def _out_cases(work: Path) -> list[InputCase]:
    d = work / "outs"
    d.mkdir()
    ro = d / "readonly"
    ro.mkdir()
    os.chmod(ro, 0o555)
    for name in ("dangling", "dangling.dot", "dangling.xml"):
        (d / name).symlink_to(d / "nowhere")
    (d / "afile").write_text("x")
    bad = {
        "a read-only directory": str(ro / "r"),
        "a dangling symlink": str(d / "dangling"),
        "a name too long": str(d / ("n" * 300)),
        "/proc/x": "/proc/x",
        "a file as a directory": str(d / "afile" / "r"),
    }
    bug = ["--cores", "1", "--workload", "syscall-heavy", "--mutation", "exitsyscall-drops-g",
           "--depth", "11", "--quiet", "--property", "no-lost-g"]  # fmt: skip
    cases = []
    for name, path in bad.items():
        cases.append(InputCase("check --out", name, [*bug, "--out", path], CHECK))
        cases.append(InputCase("check --graph", name, [*SMALL, "--graph", path + ".dot"], CHECK))
        junit = ["gate", "--quick", "--quiet", "--junit", path + ".xml"]
        cases.append(InputCase("gate --junit", name, junit, GATE))
    return cases


PLUGINS = {
    "a syntax error": "class X(:\n",
    "a name that is not a model": "X = 42\n",
    "a class that raises in __init__": (
        "from model.gmp import GMPModel\n\n"
        "class X(GMPModel):\n    def __init__(self, *a, **k):\n        raise RuntimeError('no')\n"
    ),
    "a module that raises on import": "raise SystemExit(3)\n",
    "a step that raises": (
        "from model.gmp import GMPModel\n\nclass X(GMPModel):\n"
        "    mutation_name = 'raises'\n"
        "    def runqput_next(self, s, m, p, g):\n        raise ValueError('boom')\n"
    ),
}


def _plugin_cases(work: Path) -> list[InputCase]:
    d = work / "plugins"
    d.mkdir()
    cases = [
        InputCase("--model", "a missing file", [*SMALL, "--model", f"{d}/none.py:X"], CHECK),
        InputCase("--model", "no name", [*SMALL, "--model", f"{d}/none.py"], CHECK),
    ]
    for i, (name, text) in enumerate(PLUGINS.items()):
        f = d / f"p{i}.py"
        f.write_text(text)
        args = [*SMALL, "--workload", "spawn-burst", "--depth", "6", "--model", f"{f}:X"]
        cases.append(InputCase("--model", name, [*args, "--out", "plug"], CHECK, "plug"))
    return cases


def input_cases(work: Path, trace: Path, seed: int) -> list[InputCase]:
    """Every bad-input case, its files written under work (see the module
    docstring); the same list for the same seed."""
    rng = random.Random(seed)
    return [
        *_trace_cases(work, trace, rng),
        *_dump_cases(work, rng),
        *_manifest_cases(work, rng),
        *_flag_cases(),
        *_out_cases(work),
        *_plugin_cases(work),
    ]
