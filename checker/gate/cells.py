"""The gate's matrix: every cell (a check run) with the verdicts it must give
(checker/gate/gate.py says what each kind of cell is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from checker.verdict import Verdict
from checker.views.report import (
    EXIT_OK,
)
from specs import all_properties
from specs.property import LIVENESS

MANIFEST = Path(__file__).with_name("gate_manifest.json")
MANIFEST_SCHEMA = "gmpcheck.gate-manifest/1"
# The profiles whose steps the gate's coverage check counts.
COVERAGE_PROFILES = ("go1.25", "go1.26")
MACRO = {"steps": "macro", "period": 2}


class GateError(Exception):
    """The gate cannot run (bad manifest file...): exit 2."""


@dataclass(frozen=True)
class Cell:
    id: str
    kind: str  # safety | liveness | finding | mutation | benign | smt | proof
    config: dict  # Config fields, plus "depth" (not for a proof)
    expect: dict[str, Verdict]  # property -> PASS, FAIL, NA or PROVED; "*": all pass
    props: tuple[str, ...] = ()  # () = every default property
    counted: bool = True  # its counts are in the manifest
    quick: bool = False
    full: bool = False  # run only by `gate --full` (minutes each)


@dataclass
class CellResult:
    cell: Cell
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    ok: bool = True
    problem: str = ""
    exit_code: int = EXIT_OK
    elapsed: float = 0.0
    trace: str = ""
    excerpt: list[str] = field(default_factory=list)
    location: tuple[str, int] | None = None
    failed_property: str = ""
    # Go's scheduler (no mutation): the steps the cell took, (actor kind, pc
    # name) -> states, and the profile they belong to.
    coverage: dict[tuple[str, str], int] | None = None
    profile: str = ""


def matrix() -> list[Cell]:
    """Every cell, in the order the gate runs and reports them."""
    return [*_model_cells(), *_reach_cells(), *_mutation_cells(), *_smt_cells()]


def _model_cells() -> list[Cell]:
    """Go's scheduler: safety at 2 to 4 Ps, liveness exhaustively, go1.26."""
    cells: list[Cell] = []
    for cores in (2, 3, 4):
        cells.append(
            Cell(
                f"safety/mixed/c{cores}/d12",
                "safety",
                {"cores": cores, "depth": 12},
                {"*": Verdict.PASS},
                props=SAFETY_IDS,
                quick=cores == 2,
            )
        )
    for workload, cores in LIVENESS_CONFIGS:
        cells.append(
            Cell(
                f"liveness/{workload}/c{cores}",
                "liveness",
                {"cores": cores, "workload": workload, "depth": 0, **MACRO},
                {"*": Verdict.PASS},
                quick=(workload, cores) == ("tight-loop", 2),
            )
        )
    # The exhaustive verdicts at 3 and 4 Ps that the compiled kernel reaches
    # (minutes and gigabytes each): `gate --full` only.
    for workload, cores in FULL_LIVENESS_CONFIGS:
        cells.append(
            Cell(
                f"liveness/{workload}/c{cores}",
                "liveness",
                {"cores": cores, "workload": workload, "depth": 0, **MACRO},
                {"*": Verdict.PASS},
                full=True,
            )
        )
    # The go1.26 profile (model/go126.py: system calls keep the P, no
    # _Psyscall), the scheduler `conform` checks real traces against.
    for workload, cores in (("syscall-heavy", 2), ("syscall-heavy", 3), ("mixed", 2)):
        cells.append(
            Cell(
                f"safety/go1.26/{workload}/c{cores}/d12",
                "safety",
                {"cores": cores, "workload": workload, "profile": "go1.26", "depth": 12},
                {"*": Verdict.PASS},
                props=SAFETY_IDS,
            )
        )
    cells.append(
        Cell(
            "liveness/go1.26/syscall-heavy/c1",
            "liveness",
            {"cores": 1, "workload": "syscall-heavy", "profile": "go1.26", "depth": 0, **MACRO},
            {"*": Verdict.PASS},
        )
    )
    return cells


def _reach_cells() -> list[Cell]:
    """The paths the cells above do not reach, and the findings about Go."""
    cells: list[Cell] = []
    # The paths the cells above do not reach (the coverage check below): the
    # ring overflowing into the global queue and global batches of two (a
    # ring of 4), a spinning M's re-check finding work on another P (fine
    # steps, 34 deep), handoffp idling the P under the lock in Go 1.26.
    for profile in COVERAGE_PROFILES:
        on = {} if profile == "go1.25" else {"profile": profile}
        tag = "" if profile == "go1.25" else "go1.26/"
        rings = (2, 4) if profile == "go1.25" else (4,)
        for ring in rings:
            cells.append(
                Cell(
                    f"liveness/{tag}spawn-overflow/c1" + ("" if ring == 2 else f"/ring{ring}"),
                    "liveness",
                    {"cores": 1, "workload": "spawn-overflow", "ring": ring, **on, "depth": 0,
                     **MACRO},
                    {"*": Verdict.PASS},
                )
            )  # fmt: skip
        cells.append(
            Cell(
                f"liveness/{tag}locked-thread/c2",
                "liveness",
                {"cores": 2, "workload": "locked-thread", **on, "depth": 0, **MACRO},
                {"*": Verdict.PASS},
            )
        )
        cells.append(
            Cell(
                f"safety/{tag}spawn-burst/c2/d34",
                "safety",
                {"cores": 2, "workload": "spawn-burst", **on, "depth": 34},
                {"*": Verdict.PASS},
                props=SAFETY_IDS,
            )
        )
    cells.append(
        Cell(
            "liveness/go1.26/syscall-heavy/c2",
            "liveness",
            {"cores": 2, "workload": "syscall-heavy", "profile": "go1.26", "depth": 0, **MACRO},
            {"*": Verdict.PASS},
        )
    )
    cells.append(
        Cell(
            "finding/work-conservation-strict/c4/d12",
            "finding",
            {"cores": 4, "depth": 12},
            {"work-conservation-strict": Verdict.FAIL},
            props=("work-conservation-strict",),
            counted=False,
        )
    )
    cells.append(
        Cell(
            "finding/spawn-chain/c1",
            "finding",
            {"cores": 1, "workload": "spawn-chain", "depth": 0, **MACRO},
            {"no-starvation": Verdict.FAIL},
            props=("no-starvation",),
            quick=True,
        )
    )
    return cells


def _mutation_cells() -> list[Cell]:
    """Every mutation at its own configuration, every benign variant."""
    from model.mutations import MUTATIONS

    cells: list[Cell] = []
    for m in MUTATIONS.values():
        cfg = {"mutation": m.name, **m.check_at}
        if m.benign:
            cells.append(
                Cell(f"benign/{m.name}", "benign", cfg, {"*": Verdict.PASS}, props=SAFETY_IDS,
                     counted=False)
            )  # fmt: skip
        else:
            for k, (props, at) in enumerate(m.checks()):
                cells.append(
                    Cell(
                        f"mutation/{m.name}" + (f"/{'+'.join(props)}" if k else ""),
                        "mutation",
                        {"mutation": m.name, **at},
                        {p: Verdict.FAIL for p in props},
                        props=tuple(props),
                        counted=False,
                        quick=m.name in QUICK_MUTATIONS and not k,
                    )
                )
    return cells


def _smt_cells() -> list[Cell]:
    """The z3 engine on Go's scheduler and the mutations it reaches; the proof."""
    from model.mutations import MUTATIONS

    cells: list[Cell] = []
    # The second engine (bounded model checking with z3) on the same model:
    # Go's scheduler to a depth, and every safety mutation whose shortest
    # counterexample is within its reach (docs/smt.md has the curve).
    cells.append(
        Cell(
            f"smt/safety/mixed/c2/d{SMT_DEPTH}",
            "smt",
            {"cores": 2, "depth": SMT_DEPTH},
            {"*": Verdict.PASS},
            props=SAFETY_IDS,
            counted=False,
        )
    )
    for m in MUTATIONS.values():
        if m.benign or not _smt_reaches(m.check_at) or set(m.violates) - set(SAFETY_IDS):
            continue
        cells.append(
            Cell(
                f"smt/mutation/{m.name}",
                "smt",
                {"mutation": m.name, **m.check_at},
                {p: Verdict.FAIL for p in m.violates},
                props=tuple(m.violates),
                counted=False,
            )
        )
    # k-induction: the targets hold at every depth, not only to the depth bound.
    from checker.smt.induction import TARGETS as PROOF_TARGETS

    cells.append(
        Cell(
            "proof/mixed/c2",
            "proof",
            {"cores": 2},
            {p: Verdict.PROVED for p in PROOF_TARGETS},
            props=PROOF_TARGETS,
            counted=False,
        )
    )
    return cells


def _smt_reaches(at: dict) -> bool:
    """A configuration BMC decides in the gate's time: fine steps, at most
    two cores and 16 steps."""
    return at.get("steps", "fine") == "fine" and at["cores"] <= 2 and 0 < at["depth"] <= 16


SMT_DEPTH = 8
# Every safety property checked by default, from the registry (a new
# property joins every safety cell without being listed here).
SAFETY_IDS = tuple(p.id for p in all_properties() if p.default and p.kind != LIVENESS)
# The exhaustive liveness configurations (macro steps, period 2), each small
# enough for the gate's ten minutes on two cores; docs/findings.md and the
# README list the larger ones run by hand.
LIVENESS_CONFIGS = [
    ("tight-loop", 2),
    ("tight-loop", 3),
    ("gosched-starve", 2),
    ("gosched-starve", 3),
    ("yield-pair", 2),
    ("yield-pair", 3),
    ("pingpong-hog", 2),
    ("pingpong-hog", 3),
    ("spawn-burst", 2),
    ("syscall-heavy", 1),
    ("syscall-heavy", 2),
    ("mixed", 1),
    ("mixed", 2),
]
# Exhaustive liveness configurations beyond the default gate's time (each
# several minutes on two cores; docs/findings.md has the figures).
FULL_LIVENESS_CONFIGS = [
    ("spawn-burst", 3),
    ("syscall-heavy", 3),
    ("mixed", 3),
    ("tight-loop", 4),
    ("yield-pair", 4),
    ("spawn-burst", 4),
]
QUICK_MUTATIONS = {"no-needspinning", "steal-not-atomic", "runnext-no-inherit"}
