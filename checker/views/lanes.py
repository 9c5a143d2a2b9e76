"""What each P, each M and sysmon is doing at every step of a trace, and the
steals and hand-offs between them: the lanes of the HTML view.

Like `go tool trace`'s proc lanes, one lane per P shows which goroutine runs
on it (or that it is idle, in a system call, or held by an M in the
scheduler), and one lane per M shows the thread: running a G, in a system
call, in schedule/findRunnable (spinning or not), parked. Everything is
derived from the ITF states (the readable view of model/gmp.py): an M's
`pc` names the runtime step it takes next (model/pcs.py), so RUN is
"running curg", IN_SYSCALL "in a system call", PARKED "on sched.midle", and
the FR_* steps are findRunnable. The step labels name the actors of the
moves between lanes: `stealWork(m=1, p=1, victim=0, gs=[1])` is a steal from
P0's ring to P1, `startm(sysmon, p=0, spinning=0, newm=1)` hands P0 to M1,
`sysmon.retake(p=0, from syscall)` takes P0 from the M in the system call.
The steps are model/action.py's Actions: a trace file holds their text,
read back once by checker/views/itf.py `step_actions`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from checker.views.itf import step_actions
from model.action import Action, Refs

NONE_VALUES = (-1, None)

# The M is in schedule()/findRunnable (proc.go) at these steps, not running a G.
SCHEDULER_PCS = frozenset(
    {
        "MSTART",
        "SCHEDULE",
        "FR_RUNQGET",
        "FR_GLOBRUNQ",
        "FR_STEAL_CHECK",
        "FR_BECOME_SPINNING",
        "FR_STEAL",
        "FR_DROP",
        "FR_SPIN_DOWN",
        "FR_RECHECK_GLOBAL",
        "FR_RECHECK_RUNQS",
        "FR_RECHECK_PIDLE",
        "FR_RECHECK_ACQUIRE",
        "STOPM",
        "RUNQPUTBATCH",
        "EXECUTE",
        "EXEC",
    }
)

# Lane cell kinds (the HTML view colours them).
RUNNING = "g"  # running a goroutine (user code, or runtime code on its behalf)
SCHEDULING = "sched"  # in schedule/findRunnable, not spinning
SPINNING = "spinning"  # a spinning M looking for work (counted in nmspinning)
SYSCALL = "syscall"
IDLE = "idle"
IDLE_WITH_WORK = "idle-work"  # an idle P while goroutines wait in its run queue
HANDOFF = "handoff"  # an idle P reserved by an M or sysmon, on its way to an M
PARKED = "parked"
RUNTIME = "runtime"  # wakep/startm/handoffp with no goroutine
SYSMON_LOOP = "sysmon"
THROWN = "throw"
ABSENT = "none"  # the thread does not exist yet


def _lane_of(action: Action) -> str | None:
    """The lane of the actor a label names: `startm(sysmon, ...)` -> sysmon,
    `startm(m=1, ...)` -> M1; None for another first argument."""
    if action.args and not action.args[0][0]:
        return "sysmon" if action.args[0][1] == "sysmon" else None
    m = action.get("m")
    return f"M{m}" if isinstance(m, int) else None


def _has(v: Any) -> bool:
    return v not in NONE_VALUES


@dataclass
class Cell:
    kind: str
    text: str
    g: int = -1  # the goroutine, for RUNNING (its colour)


@dataclass
class Segment:
    start: int  # first step (inclusive)
    end: int  # last step (inclusive)
    kind: str
    text: str
    g: int


@dataclass
class Arrow:
    step: int
    src: str  # lane ids
    dst: str
    kind: str  # steal, handoff, retake, preempt
    text: str
    title: str


def m_cell(state: dict, m: dict) -> Cell:
    """What an M is doing in `state`, from its pc (model/pcs.py) and curg."""
    pc, g = m["pc"], m["curg"]
    if pc == "NOT_CREATED":
        return Cell(ABSENT, "")
    if pc == "PARKED":
        return Cell(PARKED, "parked")
    if pc == "LOCKED_WAIT":
        return Cell(PARKED, "waiting for its locked G (stoplockedm)")
    if pc == "THROWN":
        return Cell(THROWN, "throw")
    if _has(g) and pc.startswith("EXITSYSCALL"):
        return Cell(SYSCALL, f"exitsyscall G{g}", g)  # the slow paths, whatever gp's status
    if _has(g) and state["G"][g]["status"] == "syscall":
        return Cell(SYSCALL, f"syscall G{g}", g)
    if _has(g) and pc not in SCHEDULER_PCS:
        return Cell(RUNNING, f"G{g}", g)
    if m["spinning"]:
        return Cell(SPINNING, "spinning")
    if pc == "STOPM":
        return Cell(SCHEDULING, "stopm")
    if pc == "MSTART":
        return Cell(SCHEDULING, "mstart")
    if pc in SCHEDULER_PCS:
        return Cell(SCHEDULING, "findRunnable")
    return Cell(RUNTIME, pc.split("_")[0].lower())  # WAKEP_CAS -> wakep, HANDOFFP_* ...


def p_cell(state: dict, p: dict) -> Cell:
    """What a P is doing: the G its M runs, the scheduler, idle, in a syscall."""
    pid = p["id"]
    if p["status"] == "syscall":
        owners = [m for m in state["M"] if m["oldp"] == pid and _has(m["curg"])]
        if owners:
            g = owners[0]["curg"]
            return Cell(SYSCALL, f"syscall G{g}", g)
        return Cell(SYSCALL, "syscall")
    if p["status"] == "idle":
        actors = [*state["M"], state["sysmon"]]
        for a in actors:
            if a.get("pp") == pid or a.get("nextp") == pid:
                who = "sysmon" if a["id"] == "sysmon" else f"M{a['id']}"
                return Cell(HANDOFF, f"held by {who}")
        queued = ([p["runnext"]] if _has(p["runnext"]) else []) + list(p["runq"])
        if queued:
            return Cell(IDLE_WITH_WORK, "idle, " + " ".join(f"G{g}" for g in queued) + " wait")
        return Cell(IDLE, "idle")
    if _has(p["m"]):
        cell = m_cell(state, state["M"][p["m"]])  # a running P shows what its M does
        if cell.kind not in (ABSENT, PARKED):
            return cell
    return Cell(SCHEDULING, p["status"])  # no owner to ask (p-ownership reports that)


def sysmon_cell(state: dict) -> Cell:
    pc = state["sysmon"]["pc"]
    if pc == "SYSMON":
        return Cell(SYSMON_LOOP, "")
    return Cell(RUNTIME, pc.split("_")[0].lower())


def merge(cells: list[Cell]) -> list[Segment]:
    """Runs of equal cells as segments (what the page draws as one bar)."""
    out: list[Segment] = []
    for i, c in enumerate(cells):
        last = out[-1] if out else None
        if last and (last.kind, last.text, last.g) == (c.kind, c.text, c.g):
            last.end = i
        else:
            out.append(Segment(i, i, c.kind, c.text, c.g))
    return out


def arrows(states: list[dict], actions: list[Action]) -> list[Arrow]:
    """Steals, hand-offs of a P to another M, retakes, preemption requests;
    actions[i] is what step i did."""
    out: list[Arrow] = []
    for i in range(1, len(states)):
        before, action = states[i - 1], actions[i]
        label = states[i]["#meta"]["action"]
        name, p, gs_ = action.procedure, action.get("p"), action.get("gs")
        if name == "stealWork" and type(gs_) is tuple and action.has("victim"):
            gs = " ".join(f"G{g}" for g in gs_)
            out.append(
                Arrow(i, f"P{action.text('victim')}", f"P{p}", "steal", f"steal {gs}", label)
            )
        elif name == "startm" and (src := _lane_of(action)) and action.has("newm", "mget"):
            nmp = action.get("newm", action.get("mget"))
            out.append(Arrow(i, src, f"M{nmp}", "handoff", f"P{p}", label))
        elif name == "sysmon.retake" and isinstance(p, int) and "from syscall" in action.flags:
            holders = [m for m in before["M"] if m["oldp"] == p]
            if holders:
                out.append(
                    Arrow(i, f"M{holders[0]['id']}", "sysmon", "retake", f"retake P{p}", label)
                )
        elif name == "sysmon.retake" and action.has("preempt"):
            # One arrow per P:G pair of the pass (P1:G0,P0:G2), to the P
            # whose G sysmon asks to stop; the open world names the G alone
            # (preempt=G2) and its P as p.
            preempt = action.get("preempt")
            for group in preempt if isinstance(preempt, Refs) else ():
                ids = dict(group)
                pp, g = ids.get("P", p), ids.get("G")
                if not isinstance(pp, int) or g is None:
                    continue
                if any(m["curg"] == g and m["p"] == pp for m in before["M"]):
                    out.append(Arrow(i, "sysmon", f"P{pp}", "preempt", f"preempt G{g}", label))
    return out


def lane_view(doc: dict) -> dict:
    """The lanes of a GMP trace, as plain data for the page: lanes with their
    segments, arrows, and each step's actor lane. Empty lanes for a trace of
    another model (the page then shows the steps and states only)."""
    states = doc["states"]
    if not all(k in states[0] for k in ("G", "P", "M", "sysmon", "sched")):
        return {"lanes": [], "arrows": [], "actors": [], "hidden": []}
    lanes: list[dict[str, Any]] = []
    for p in states[0]["P"]:
        cells = [p_cell(st, st["P"][p["id"]]) for st in states]
        lanes.append({"id": f"P{p['id']}", "group": "P", "segments": merge(cells)})
    hidden = []
    for m in states[0]["M"]:
        cells = [m_cell(st, st["M"][m["id"]]) for st in states]
        if all(c.kind == ABSENT for c in cells):
            hidden.append(f"M{m['id']}")  # a thread slot the trace never starts
            continue
        lanes.append({"id": f"M{m['id']}", "group": "M", "segments": merge(cells)})
    cells = [sysmon_cell(st) for st in states]
    lanes.append({"id": "sysmon", "group": "sysmon", "segments": merge(cells)})
    shown = {lane["id"] for lane in lanes}
    actors = [st["#meta"].get("actor") for st in states]
    moves = arrows(states, step_actions(doc))
    return {
        "lanes": [{**lane, "segments": [asdict(s) for s in lane["segments"]]} for lane in lanes],
        "arrows": [asdict(a) for a in moves if a.src in shown and a.dst in shown],
        "actors": [a if a in shown else None for a in actors],
        "hidden": hidden,
    }
