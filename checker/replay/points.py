"""Where the runtime's schedule points meet the model's program counters.

The reference runtime (runtime/) is written as proc.go is and knows
nothing of the model's program counters: each M stops at schedule points
named in the scheduler's words ("findRunnable: releasep", "stealWork").
This table says which point is which step of the model, and from an M's
traceback where a runtime procedure it is in (wakep, startm, handoffp,
runqput) returns to: the model's `ret` (per profile: go1.26's
entersyscallblock returns elsewhere). It is the one place the two
implementations are tied together, and replay and record read the
runtime's state through it (`snapshot`).
"""

from __future__ import annotations

from typing import Any

from model.pcs import PC

POINTS: dict[str, PC] = {
    "gone": PC.NOT_CREATED,
    "thrown": PC.THROWN,
    "mPark": PC.PARKED,
    "mstart": PC.MSTART,
    "stoplockedm": PC.LOCKED_WAIT,
    "stoplockedm: acquirep": PC.LOCKED_WAIT,
    "mexit": PC.MEXIT,
    "user code": PC.RUN,
    "syscall": PC.IN_SYSCALL,
    "exitsyscallfast_pidle": PC.EXITSYSCALL_PIDLE,
    "exitsyscall0": PC.EXITSYSCALL0,
    "runqput: ring": PC.RUNQPUT_RING,
    "runqputslow": PC.RUNQPUTSLOW_GLOBAL,
    "schedule": PC.SCHEDULE,
    "findRunnable: runqget": PC.FR_RUNQGET,
    "findRunnable: globrunqget": PC.FR_GLOBRUNQ,
    "findRunnable: spin limit": PC.FR_STEAL_CHECK,
    "findRunnable: becomeSpinning": PC.FR_BECOME_SPINNING,
    "stealWork": PC.FR_STEAL,
    "runqgrab: runnext": PC.FR_STEAL_RUNNEXT,
    "findRunnable: releasep": PC.FR_DROP,
    "findRunnable: spinning down": PC.FR_SPIN_DOWN,
    "findRunnable: recheck global": PC.FR_RECHECK_GLOBAL,
    "checkRunqsNoP": PC.FR_RECHECK_RUNQS,
    "checkRunqsNoP: pidlegetSpinning": PC.FR_RECHECK_PIDLE,
    "findRunnable: acquirep": PC.FR_RECHECK_ACQUIRE,
    "stopm": PC.STOPM,
    "runqputbatch": PC.RUNQPUTBATCH,
    "schedule: resetspinning": PC.EXECUTE,
    "execute": PC.EXEC,
    "wakep": PC.WAKEP_CAS,
    "wakep: pidlegetSpinning": PC.WAKEP_PIDLE,
    "startm": PC.STARTM,
    "handoffp": PC.HANDOFFP,
    "handoffp: spinning": PC.HANDOFFP_SPIN,
    "handoffp: lock": PC.HANDOFFP_LOCK,
    "sysmon": PC.SYSMON,
    # The go1.26 profile's system calls (runtime/go126.py).
    "entersyscallblock: casgstatus": PC.ENTERSYSCALLBLOCK_CAS,
    "exitsyscallTryGetP": PC.EXITSYSCALL_OLDP,
    "exitsyscallTryGetP: pidleget": PC.EXITSYSCALL_PIDLE,
    "exitsyscallNoP": PC.EXITSYSCALL0,
}

# A runtime procedure's caller, and where the model has the M go on when
# the procedure returns.
RETURNS: dict[str, PC] = {
    "newproc": PC.RUN,
    "ready": PC.RUN,
    "goschedImpl": PC.SCHEDULE,
    "gosched_m": PC.SCHEDULE,
    "resetspinning": PC.EXEC,
    "entersyscallblock": PC.IN_SYSCALL,
    "stoplockedm": PC.LOCKED_WAIT,
    "mexit": PC.MEXIT,
    "retake": PC.SYSMON,
}
# Go 1.26's entersyscallblock hands its P off before the G enters the call:
# its handoffp returns to the status change, not into the call.
RETURNS_BY_PROFILE: dict[str, dict[str, PC]] = {
    "go1.25": RETURNS,
    "go1.26": {**RETURNS, "entersyscallblock": PC.ENTERSYSCALLBLOCK_CAS},
}


def locate(where: str, stack: tuple[str, ...], returns: dict[str, PC] = RETURNS) -> tuple[int, int]:
    """The model's (pc, ret) of an M stopped at point `where` inside the
    runtime procedures `stack` (outermost first; the last is the one the
    point is in); `returns`, the profile's RETURNS."""
    pc = POINTS.get(where)
    if pc is None:
        raise KeyError(f"a schedule point the model has no step for: {where!r}")
    ret = next((returns[f] for f in stack[:-1] if f in returns), 0)
    return int(pc), int(ret)


def snapshot(rt: Any, before: bytes | None = None) -> bytes:
    """The runtime's state as the model's state vector (read while no
    thread runs). A step that threw at a bad queue access (`void_throw`,
    the M that did) is the model's throw on the state `before` it."""
    returns = RETURNS_BY_PROFILE[rt.cfg.profile]
    s = rt.project(lambda where, stack: locate(where, stack, returns))
    if rt.void_throw is None or before is None:
        return s
    L = rt.L
    u = bytearray(before[: len(s)])
    u[L.throw] = rt.sched.throw
    u[L.pc[rt.void_throw]] = PC.THROWN
    return bytes(u)
