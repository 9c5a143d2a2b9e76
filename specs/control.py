"""Control-state invariants: what each M's and sysmon's registers hold at each
program counter, and how that agrees with the G's and P's they name.

They are not properties of the scheduler a user asks about (`check` does not
run them by default); they are the auxiliary invariants k-induction needs
(checker/smt/induction.py, docs/smt.md): without them a state that no run
reaches — an M leaving a system call that also holds another G in transit —
steps out of the safety invariants, and nothing is proved. Each one holds in
every reachable state of the Go 1.25 profile (tests/test_control_invariants.py
checks them on the explicit engine's reachable states).

They are written like specs/safety.py, so that the symbolic engine runs
them as it runs the model: the per-actor helpers are `foldable`, one
formula per actor, and the module's constant sets become symbolic sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from model.machine import foldable
from model.pcs import PC, PC_NAMES, PROCEDURES, SYSMON_PCS
from model.state import G_DEAD, G_RUNNABLE, G_RUNNING, G_SYSCALL, NONE, P_SYSCALL
from specs.property import INVARIANT, Property

if TYPE_CHECKING:
    from model.gmp import GMPModel

# Where an M runs wakep/startm/handoffp as a procedure (PROCEDURES), and where it returns.
WAKEP_PCS = frozenset({PC.WAKEP_CAS, PC.WAKEP_PIDLE, PC.STARTM})
HANDOFFP_PCS = frozenset({PC.HANDOFFP, PC.HANDOFFP_SPIN, PC.HANDOFFP_LOCK})
# wakep returns to the G's code (newproc, ready), to schedule() (Gosched) or
# to execute (resetspinning); runqput's ring half returns to the G's code.
WAKEP_RETURNS = frozenset({PC.RUN, PC.SCHEDULE, PC.EXEC})
RUNQPUT_PCS = frozenset({PC.RUNQPUT_RING, PC.RUNQPUTSLOW_GLOBAL})
# An M's handoffp returns to its system call (entersyscallblock), to the wait
# of stoplockedm, or to mexit.
HANDOFFP_RETURNS = frozenset({PC.IN_SYSCALL, PC.LOCKED_WAIT, PC.MEXIT})
# An M's own pcs (outside procedures) at which it holds a P.
HOLDS_P_PCS = frozenset(
    {
        PC.RUN,
        PC.RUNQPUT_RING,
        PC.RUNQPUTSLOW_GLOBAL,
        PC.SCHEDULE,
        PC.FR_RUNQGET,
        PC.FR_GLOBRUNQ,
        PC.FR_STEAL_CHECK,
        PC.FR_BECOME_SPINNING,
        PC.FR_STEAL,
        PC.FR_STEAL_RUNNEXT,
        PC.FR_DROP,
        PC.RUNQPUTBATCH,
        PC.EXECUTE,
        PC.EXEC,
    }
)
SYSCALL_PCS = frozenset({PC.IN_SYSCALL, PC.EXITSYSCALL_PIDLE, PC.EXITSYSCALL0})
# Where findRunnable has returned a G (m.gp) that execute will run.
RETURNED_G_PCS = frozenset({PC.RUNQPUTBATCH, PC.EXECUTE, PC.EXEC})
# Where an M may be spinning, and where it must be.
MAY_SPIN_PCS = frozenset(
    {
        PC.MSTART,
        PC.SCHEDULE,
        PC.FR_RUNQGET,
        PC.FR_GLOBRUNQ,
        PC.FR_STEAL,
        PC.FR_STEAL_RUNNEXT,
        PC.FR_DROP,
        PC.FR_SPIN_DOWN,
        PC.RUNQPUTBATCH,
        PC.EXECUTE,
    }
)
MUST_SPIN_PCS = frozenset({PC.FR_STEAL, PC.FR_STEAL_RUNNEXT, PC.FR_SPIN_DOWN})
P_ARG_PCS = frozenset({PC.STARTM, PC.HANDOFFP, PC.HANDOFFP_SPIN, PC.HANDOFFP_LOCK})
# findRunnable after runqget found the own run queue empty.
RUNQ_SEEN_EMPTY_PCS = frozenset(
    {
        PC.FR_GLOBRUNQ,
        PC.FR_STEAL_CHECK,
        PC.FR_BECOME_SPINNING,
        PC.FR_STEAL,
        PC.FR_STEAL_RUNNEXT,
        PC.FR_DROP,
        PC.RUNQPUTBATCH,
    }
)
# handoffp past its local-work check; findRunnable's re-check with a P fresh off pidle.
NO_WORK_PCS = frozenset({PC.HANDOFFP_SPIN, PC.HANDOFFP_LOCK, PC.FR_RECHECK_ACQUIRE})
# pcs of other profiles (go1.26, the open world) and sysmon's own.
FOREIGN_M_PCS = frozenset(
    {
        PC.ENTERSYSCALLBLOCK_CAS,
        PC.EXITSYSCALL_OLDP,
        PC.ALLOCM,
        PC.FR_NETPOLL,
        PC.NETPOLL,
        PC.NETPOLL_ACQUIRE,
        PC.GOSCHED_LOCK,
        PC.EXITSYSCALL_NOP_LOCK,
        PC.SYSMON,
    }
)


PC_NAME_LIST = tuple(PC(i).name if i in PC_NAMES else str(i) for i in range(max(PC) + 1))


def applies(model: GMPModel) -> bool:
    """They describe the Go 1.25 profile's closed world (model/gmp.py)."""
    from model.go126 import Go126Model
    from model.openworld import OpenWorld

    return not isinstance(model, Go126Model | OpenWorld)


# ---- per-actor helpers (one formula per actor) ---------------------------------------


@foldable
def returns_to_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """m.ret names where the running procedure returns, and is 0 outside one."""
    L = model.L
    pc, ret = t[L.pc[a]], t[L.ret[a]]
    if a == L.SYSMON:
        if pc == PC.SYSMON:
            return ret == 0
        return pc in P_ARG_PCS and ret == PC.SYSMON
    if pc in RUNQPUT_PCS:
        return ret == PC.RUN
    if pc in HANDOFFP_PCS:
        return ret in HANDOFFP_RETURNS
    if pc == PC.STARTM:
        return ret in WAKEP_RETURNS or ret in HANDOFFP_RETURNS
    if pc in WAKEP_PCS:
        return ret in WAKEP_RETURNS
    return ret == 0


@foldable
def holds_p_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """m.p is set exactly where the M runs with a P."""
    L = model.L
    pc = t[L.pc[a]]
    holds = pc in HOLDS_P_PCS or (pc in WAKEP_PCS and t[L.ret[a]] in WAKEP_RETURNS)
    return (t[L.m_p[a]] != NONE) == (a != L.SYSMON and holds)


@foldable
def curg_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """m.curg is set exactly while the M runs a G's code or its system call;
    the G is running if the M has a P, in a system call if not."""
    L = model.L
    pc, ret, g = t[L.pc[a]], t[L.ret[a]], t[L.curg[a]]
    has = a != L.SYSMON and (
        pc == PC.RUN
        or pc in RUNQPUT_PCS
        or pc in SYSCALL_PCS
        or (pc in PROCEDURES and (ret == PC.RUN or ret == PC.IN_SYSCALL))
    )
    if not has:
        return g == NONE
    if g == NONE:
        return False
    want = G_RUNNING if t[L.m_p[a]] != NONE else G_SYSCALL
    return t[L.g_status[g]] == want


@foldable
def in_transit_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """m.gp holds a G only where one is in transit (runqput's kicked-out
    runnext, findRunnable's result until execute, a re-check's batch head);
    the batch only where it is about to be published."""
    L = model.L
    pc, g = t[L.pc[a]], t[L.gp[a]]
    batch = t[L.batch[a]]
    locked = t[L.lockedg[a]]
    if a != L.SYSMON and locked != NONE and pc != PC.MSTART and t[L.nextp[a]] != NONE:
        # startlockedm handed its G over with a P (nextp), perhaps before the
        # M reached its wait (stoplockedm).
        return g == locked and t[L.curg[a]] == NONE and batch == NONE
    if (
        a != L.SYSMON
        and (pc in RETURNED_G_PCS or (pc in WAKEP_PCS and t[L.ret[a]] == PC.EXEC))
        or a != L.SYSMON
        and pc == PC.RUNQPUT_RING
    ):
        gp_ok = g != NONE
    elif a != L.SYSMON and pc == PC.FR_RECHECK_ACQUIRE:
        gp_ok = g != NONE or batch == NONE
    else:
        gp_ok = g == NONE
    if not gp_ok:
        return False
    if a != L.SYSMON and (pc == PC.RUNQPUTSLOW_GLOBAL or pc == PC.RUNQPUTBATCH):
        return batch != NONE
    if a != L.SYSMON and pc == PC.FR_RECHECK_ACQUIRE:
        return True
    return batch == NONE


@foldable
def batch_fits(model: GMPModel, t: bytes, a: int) -> bool:
    """The batch holds at most what its producer takes: runqputslow half the
    ring plus one; a global-queue batch or a steal, less the G to run,
    len(runq)/2 - 1 (so they fit the owner's ring, which is empty then)."""
    L = model.L
    n = 0
    for i in range(L.B):
        if t[L.batch[a] + i] != NONE:
            n += 1
    if a != L.SYSMON and t[L.pc[a]] == PC.RUNQPUTSLOW_GLOBAL:
        return n <= L.C // 2 + 1
    return n <= L.C // 2 - 1


@foldable
def own_runq_empty_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """Once findRunnable found its own P's run queue empty, it stays empty
    until the M publishes a batch there: only the P's holder adds to it."""
    L = model.L
    if a == L.SYSMON or t[L.pc[a]] not in RUNQ_SEEN_EMPTY_PCS:
        return True
    p = t[L.m_p[a]]
    return p != NONE and model.runqempty(t, p)


@foldable
def inherit_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """inheritTime is set only between findRunnable's return and execute."""
    L = model.L
    pc = t[L.pc[a]]
    if t[L.inherit[a]] == 0:
        return True
    return a != L.SYSMON and (pc in RETURNED_G_PCS or (pc in WAKEP_PCS and t[L.ret[a]] == PC.EXEC))


@foldable
def spinning_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """m.spinning where findRunnable (or a just started M) may spin, and
    set wherever only a spinning M gets."""
    L = model.L
    pc = t[L.pc[a]]
    if t[L.spinning[a]]:
        return a != L.SYSMON and pc in MAY_SPIN_PCS and t[L.spin_arg[a]] == 0
    return pc not in MUST_SPIN_PCS


@foldable
def arguments_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """startm/handoffp's P argument (pp) is set exactly inside them (and in
    findRunnable's re-check, for the P it got); spin_arg only inside startm
    or for a starting thread; nextp only while the M starts; oldp only in a
    system call."""
    L = model.L
    pc = t[L.pc[a]]
    pp_here = pc in P_ARG_PCS or (a != L.SYSMON and pc == PC.FR_RECHECK_ACQUIRE)
    if (t[L.pp[a]] != NONE) != pp_here:
        return False
    if t[L.spin_arg[a]] != 0 and not (pc == PC.STARTM or (a != L.SYSMON and pc == PC.MSTART)):
        return False
    handed = a != L.SYSMON and t[L.lockedg[a]] != NONE and t[L.gp[a]] == t[L.lockedg[a]]
    if t[L.nextp[a]] != NONE and not (a != L.SYSMON and pc == PC.MSTART or handed):
        return False
    if a != L.SYSMON and pc == PC.MSTART and t[L.nextp[a]] == NONE:
        return False
    if pc in NO_WORK_PCS and not model.runqempty(t, t[L.pp[a]]):
        return False  # handoffp saw no local work, and nobody else can add any
    if pc == PC.STARTM and t[L.spin_arg[a]] and not model.runqempty(t, t[L.pp[a]]):
        return False  # a spinning M is only started for a P without local work
    spins = t[L.spinning[a]] or t[L.spin_arg[a]]
    if a != L.SYSMON and pc == PC.MSTART and spins and not model.runqempty(t, t[L.nextp[a]]):
        return False
    return t[L.oldp[a]] == NONE or (a != L.SYSMON and pc == PC.IN_SYSCALL)


@foldable
def steal_state_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """stealWork's visited-Ps mask and pass count are kept only while it
    (or checkRunqsNoP, for the mask) runs; the mask never has the M's own P.
    runqgrab's runnext read and its victim are kept only until its CAS: on
    the last pass, of a G, from another P this pass visited."""
    L = model.L
    pc = t[L.pc[a]]
    if a != L.SYSMON and pc == PC.FR_STEAL_RUNNEXT:
        p, v = t[L.m_p[a]], t[L.steal_victim[a]]
        return (
            p != NONE
            and v != p
            and (t[L.mask[a]] >> p) & 1 == 0
            and (t[L.mask[a]] >> v) & 1 == 1
            and t[L.steal_pass[a]] == model.cfg.steal_tries - 1
            and t[L.steal_next[a]] < L.nG
        )
    if t[L.steal_victim[a]] != NONE or t[L.steal_next[a]] != NONE:
        return False
    if a != L.SYSMON and pc == PC.FR_STEAL:
        p = t[L.m_p[a]]
        return p != NONE and (t[L.mask[a]] >> p) & 1 == 0
    if t[L.steal_pass[a]] != 0:
        return False
    return t[L.mask[a]] == 0 or (a != L.SYSMON and pc == PC.FR_RECHECK_RUNQS)


@foldable
def locked_ok(model: GMPModel, t: bytes, a: int) -> bool:
    """m.lockedg names a G that is alive, and is set wherever the M waits for
    it (stoplockedm) and nowhere in a workload that never locks."""
    L = model.L
    g, pc = t[L.lockedg[a]], t[L.pc[a]]
    waits = pc == PC.LOCKED_WAIT or t[L.ret[a]] == PC.LOCKED_WAIT
    if a == L.SYSMON or not uses_locks(model):
        return g == NONE and not waits and pc != PC.MEXIT and t[L.ret[a]] != PC.MEXIT
    if g == NONE:
        return not waits
    return t[L.g_status[g]] != G_DEAD and pc != PC.MEXIT and t[L.ret[a]] != PC.MEXIT


def uses_locks(model: GMPModel) -> bool:
    """Whether the workload has LockOSThread at all (a constant of the model)."""
    from model.workloads import Op

    return any(op == Op.LOCK for op in model.code.ops)


@foldable
def at_home_pc(model: GMPModel, t: bytes, a: int) -> bool:
    """Sysmon stays in its loop and the procedures it calls; no actor threw."""
    L = model.L
    pc = t[L.pc[a]]
    if pc == PC.THROWN:
        return False
    if a == L.SYSMON:
        return pc in SYSMON_PCS
    return pc not in FOREIGN_M_PCS


@foldable
def parked_iff_idle(model: GMPModel, t: bytes, m: int) -> bool:
    """An M is on sched.midle exactly once if parked, never otherwise."""
    L = model.L
    n = 0
    for i in range(L.nM):
        if t[L.midle + i] == m:
            n += 1
    return n == (1 if t[L.pc[m]] == PC.PARKED else 0)


# ---- the invariants ---------------------------------------------------------------------


def _first_actor(
    model: GMPModel, t: bytes, ok: Callable[[GMPModel, bytes, int], bool], what: str
) -> str | None:
    L = model.L
    for a in range(L.nA):
        if not ok(model, t, a):
            who = "sysmon" if a == L.SYSMON else f"M{a}"
            return f"{who} at {PC_NAME_LIST[t[L.pc[a]]]}: {what}"
    return None


def procedure_returns(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, returns_to_ok, "m.ret does not match the call")


def p_held_where_running(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, holds_p_ok, "m.p does not match the pc")


def curg_matches_pc(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, curg_ok, "m.curg does not match the pc or the G's status")


def g_in_transit_matches_pc(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, in_transit_ok, "m.gp / batch does not match the pc")


def batch_within_bounds(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, batch_fits, "the batch holds more G's than its producer takes")


def own_runq_stays_empty(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, own_runq_empty_ok, "its P's run queue is not empty")


def inherit_with_g(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, inherit_ok, "inheritTime set without a G")


def spinning_matches_pc(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, spinning_ok, "m.spinning does not match the pc")


def arguments_match_pc(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, arguments_ok, "pp / spin_arg / nextp / oldp do not match the pc")


def steal_state_matches_pc(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, steal_state_ok, "stealWork's mask or pass out of place")


def locked_matches_pc(model: GMPModel, t: bytes) -> str | None:
    return _first_actor(model, t, locked_ok, "m.lockedg does not match the pc or its G")


def no_throw(model: GMPModel, t: bytes) -> str | None:
    if t[model.L.throw] != 0:
        return "the runtime threw"
    return _first_actor(model, t, at_home_pc, "at a pc it never reaches")


def midle_is_parked(model: GMPModel, t: bytes) -> str | None:
    L = model.L
    for m in range(L.nM):
        if not parked_iff_idle(model, t, m):
            return f"M{m} is on sched.midle but not parked, twice, or parked but not on it"
    return None


def syscall_p_has_its_m(model: GMPModel, t: bytes) -> str | None:
    """A P in _Psyscall is the oldp of an M in a system call: only
    entersyscall puts a P there, and that M keeps it as oldp until
    exitsyscall. (Not exactly one: after sysmon's retake another M may take
    the P into a system call of its own while the first still names it.)"""
    L = model.L
    for p in range(L.nP):
        if not syscall_p_ok(model, t, p):
            return f"P{p} is in _Psyscall but no M in a system call has it as oldp"
    return None


@foldable
def syscall_p_ok(model: GMPModel, t: bytes, p: int) -> bool:
    L = model.L
    if t[L.p_status[p]] != P_SYSCALL:
        return True
    return any(t[L.oldp[m]] == p and t[L.pc[m]] == PC.IN_SYSCALL for m in range(L.nM))


def queued_gs_runnable(model: GMPModel, t: bytes) -> str | None:
    """A G named in a run queue, a runnext or an M's transit slots is runnable."""
    L = model.L
    offs = [L.runnext[p] for p in range(L.nP)]
    offs += [L.runq[p] + i for p in range(L.nP) for i in range(L.C)]
    offs += [L.gp[a] for a in range(L.nA)]
    offs += [L.batch[a] + i for a in range(L.nA) for i in range(L.B)]
    offs += [L.grunq + i for i in range(L.nG)]
    for off in offs:
        if not runnable_or_none(model, t, t[off]):
            return "a G is queued or in transit but not runnable"
    return None


@foldable
def runnable_or_none(model: GMPModel, t: bytes, g: int) -> bool:
    return g == NONE or t[model.L.g_status[g]] == G_RUNNABLE


def queues_packed(model: GMPModel, t: bytes) -> str | None:
    """Every queue is packed at the front of its slots (state.py)."""
    L = model.L
    spans = [(L.runq[p], L.C) for p in range(L.nP)]
    spans += [(L.batch[a], L.B) for a in range(L.nA)]
    spans += [(L.grunq, L.nG), (L.pidle, L.nP), (L.midle, L.nM)]
    for start, cap in spans:
        if not packed(model, t, start, cap):
            return f"the queue at slot {start} has a gap"
    return None


@foldable
def packed(model: GMPModel, t: bytes, start: int, cap: int) -> bool:
    """No entry after an empty slot."""
    return all(not (t[i] == NONE and t[i + 1] != NONE) for i in range(start, start + cap - 1))


def _inv(pid: str, statement: str, check: Callable[[GMPModel, bytes], str | None]) -> Property:
    return Property(
        id=pid,
        kind=INVARIANT,
        statement=statement,
        check=check,
        source="control state of proc.go's M (auxiliary for k-induction)",
        default=False,
    )


CONTROL_INVARIANTS = [
    _inv(
        "procedure-returns",
        "m.ret names the caller exactly inside wakep/startm/handoffp",
        procedure_returns,
    ),
    _inv(
        "p-held-where-running",
        "an M holds a P exactly at the pcs that run with one",
        p_held_where_running,
    ),
    _inv(
        "curg-matches-pc",
        "m.curg is set exactly while a G runs or is in a system call on the M",
        curg_matches_pc,
    ),
    _inv(
        "g-in-transit-matches-pc",
        "m.gp and the batch hold G's only where one is in transit",
        g_in_transit_matches_pc,
    ),
    _inv(
        "batch-within-bounds",
        "an M's batch holds at most what its producer takes",
        batch_within_bounds,
    ),
    _inv(
        "own-runq-stays-empty",
        "findRunnable's P's run queue stays empty once seen so",
        own_runq_stays_empty,
    ),
    _inv("inherit-with-g", "inheritTime is set only alongside the G it is about", inherit_with_g),
    _inv("spinning-matches-pc", "m.spinning only where findRunnable spins", spinning_matches_pc),
    _inv(
        "arguments-match-pc",
        "pp, spin_arg, nextp and oldp are set only where they are used",
        arguments_match_pc,
    ),
    _inv(
        "steal-state-matches-pc",
        "stealWork's mask and pass are kept only while it runs",
        steal_state_matches_pc,
    ),
    _inv(
        "locked-matches-pc",
        "m.lockedg names a live G, and is set exactly where an M waits for it",
        locked_matches_pc,
    ),
    _inv("no-throw", "the runtime never throws; every actor stays at pcs of its own", no_throw),
    _inv("midle-is-parked", "an M is on sched.midle, once, exactly when parked", midle_is_parked),
    _inv(
        "syscall-p-has-its-m",
        "a P in _Psyscall is the oldp of an M in a system call",
        syscall_p_has_its_m,
    ),
    _inv("queued-gs-runnable", "a G in a queue or in transit is runnable", queued_gs_runnable),
    _inv("queues-packed", "every queue is packed at the front of its slots", queues_packed),
]


def control_invariants(model: GMPModel) -> list[Property]:
    """The auxiliary invariants for this model (none where they do not apply)."""
    return list(CONTROL_INVARIANTS) if applies(model) else []
