"""The safety properties of the GMP model (DESIGN §3, reference §10).

Each check reads the state vector through the model's layout and returns
None when the property holds, or one line saying what is wrong. They are
on the hot path of every run, so they count rather than build views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from model.action import Action
from model.machine import foldable
from model.pcs import PC
from model.state import (
    G_DEAD,
    G_RUNNABLE,
    G_RUNNING,
    G_STATUS_NAMES,
    G_SYSCALL,
    G_WAITING,
    NONE,
    P_IDLE,
    P_RUNNING,
    P_STATUS_NAMES,
    THROW_BAD_G_STATUS,
    THROW_NEGATIVE_NMSPINNING,
    THROW_QUEUE_OVERFLOW,
    THROW_QUEUE_UNDERFLOW,
    q_items,
)
from specs.property import ACTION, INVARIANT, Property, explanation

if TYPE_CHECKING:
    from model.gmp import GMPModel

# ---- no-lost-g ------------------------------------------------------------------


@explanation
def g_places(model: GMPModel, t: bytes) -> list[list[str]]:
    """Where each G is named: M curg / in-transit slots, runnext, rings, global queue."""
    L = model.L
    places: list[list[str]] = [[] for _ in range(L.nG)]
    for a in range(L.nA):
        who = "sysmon" if a == L.SYSMON else f"M{a}"
        if t[L.curg[a]] != NONE:
            places[t[L.curg[a]]].append(f"{who}.curg")
        if t[L.gp[a]] != NONE:
            places[t[L.gp[a]]].append(f"{who} (in transit)")
        for g in q_items(t, L.batch[a], L.B):
            places[g].append(f"{who} batch (in transit)")
    for p in range(L.nP):
        if t[L.runnext[p]] != NONE:
            places[t[L.runnext[p]]].append(f"P{p}.runnext")
        for g in q_items(t, L.runq[p], L.C):
            places[g].append(f"P{p}.runq")
    for g in q_items(t, L.grunq, L.nG):
        places[g].append("sched.runq")
    return places


def no_lost_g(model: GMPModel, t: bytes) -> str | None:
    L = model.L
    if t[L.throw]:
        return None  # the runtime threw: the property that owns the throw reports it
    refs = L.g_refs(t)
    count = [refs.count(g) for g in range(L.nG)]
    for g in range(L.nG):
        st = t[L.g_status[g]]
        want = 0 if st in (G_DEAD, G_WAITING) else 1
        if count[g] != want:
            where = g_places(model, t)[g] or ["nowhere"]
            status = G_STATUS_NAMES[st]
            if count[g] == 0:
                return f"G{g} is {status} but in no run queue, M or transit slot: it is lost"
            if want == 0:
                return f"G{g} is {status} but still named in {', '.join(where)}"
            return f"G{g} is in {count[g]} places at once: {', '.join(where)}"
    return None


# ---- locked-threads ----------------------------------------------------------------


def locked_threads(model: GMPModel, t: bytes) -> str | None:
    """LockOSThread's promise: a G locked to an M runs only on that M, and
    that M runs no other G."""
    L = model.L
    if t[L.throw]:
        return None
    for a in range(L.nM):
        if not locked_ok(model, t, a):
            g = t[L.lockedg[a]]
            if t[L.curg[a]] != NONE:
                return f"M{a} is locked to G{g} but runs G{t[L.curg[a]]}"
            return f"G{g} is locked to M{a} but runs on another M"
    return None


@foldable
def locked_ok(model: GMPModel, t: bytes, a: int) -> bool:
    L = model.L
    g = t[L.lockedg[a]]
    if g == NONE:
        return True
    if t[L.curg[a]] != NONE and t[L.curg[a]] != g:
        return False
    return all(b == a or t[L.curg[b]] != g for b in range(L.nM))


# ---- status-transitions (an action property) --------------------------------------

ALLOWED_G_EDGES = {
    (G_DEAD, G_RUNNABLE),  # newproc1
    (G_RUNNABLE, G_RUNNING),  # execute
    (G_RUNNING, G_RUNNABLE),  # goschedImpl (Gosched, preemption)
    (G_RUNNING, G_WAITING),  # park_m
    (G_WAITING, G_RUNNABLE),  # ready
    (G_RUNNING, G_SYSCALL),  # entersyscall, entersyscallblock
    (G_SYSCALL, G_RUNNING),  # exitsyscall fast path
    (G_SYSCALL, G_RUNNABLE),  # exitsyscall0
    (G_RUNNING, G_DEAD),  # goexit0
}


def status_transitions(model: GMPModel, t: bytes, label: Action, u: bytes) -> str | None:
    L = model.L
    if u[L.throw] == THROW_BAD_G_STATUS and t[L.throw] != THROW_BAD_G_STATUS:
        return f"{label}: casgstatus found a G in a status it did not expect (Go throws)"
    if t[L.g_base : L.p_base] == u[L.g_base : L.p_base]:
        return None  # no G changed
    for g in range(L.nG):
        a, b = t[L.g_status[g]], u[L.g_status[g]]
        if a != b and (a, b) not in ALLOWED_G_EDGES:
            return f"{label}: G{g} went {G_STATUS_NAMES[a]} -> {G_STATUS_NAMES[b]}"
    return None


# ---- p-ownership ------------------------------------------------------------------


def p_ownership(model: GMPModel, t: bytes) -> str | None:
    L = model.L
    if t[L.throw] == THROW_QUEUE_OVERFLOW:
        return "a queue overflowed: a P or M was put on an idle list twice"
    if t[L.throw]:
        return None
    mp, nextp, pp = L.m_ps(t), L.nextps(t), L.pps(t)
    idle = t[L.pidle : L.pidle + L.nP]
    for p in range(L.nP):
        st = t[L.p_status[p]]
        m = t[L.p_m[p]]
        if st == P_RUNNING:
            ok = (
                m != NONE
                and mp.count(p) == 1
                and t[L.m_p[m]] == p
                and p not in idle
                and p not in nextp
                and p not in pp
            )
        elif st == P_IDLE:
            on_idle = idle.count(p)
            ok = (
                m == NONE
                and p not in mp
                and on_idle + nextp.count(p) + pp.count(p) == 1
                and (not on_idle or model.runqempty(t, p))
            )
        else:
            ok = m == NONE and p not in mp and p not in nextp and p not in pp and p not in idle
        if not ok:
            return _p_ownership_problem(model, t, p)
    return None


@explanation
def _p_ownership_problem(model: GMPModel, t: bytes, p: int) -> str:
    """Say what is wrong with P p's ownership (off the hot path)."""
    L = model.L
    owners = [a for a in range(L.nA) if t[L.m_p[a]] == p]
    reserved = []
    for a in range(L.nA):
        who = "sysmon" if a == L.SYSMON else f"M{a}"
        if t[L.nextp[a]] == p:
            reserved.append(f"{who}.nextp")
        if t[L.pp[a]] == p:
            reserved.append(f"{who} (local)")
    on_idle = q_items(t, L.pidle, L.nP).count(p)
    st = t[L.p_status[p]]
    m = t[L.p_m[p]]
    name = f"P{p} ({P_STATUS_NAMES[st]})"
    if st == P_RUNNING:
        if m == NONE or owners != [m]:
            who = "-" if m == NONE else f"M{m}"
            return f"{name}: p.m = {who} but m.p == P{p} for {[f'M{a}' for a in owners]}"
        return f"{name} owned by M{m} is also on the idle list or reserved"
    if st == P_IDLE:
        if m != NONE or owners:
            return f"{name} has an owner"
        holders = on_idle + len(reserved)
        if holders != 1:
            where = (["sched.pidle"] * on_idle) + reserved
            return f"{name} is in {holders} places: {', '.join(where) or 'nowhere'}"
        return f"{name} is on the idle list with a non-empty run queue"
    return f"{name} is owned, reserved or idle while in a system call"


# ---- spinning-accounting ------------------------------------------------------------


# (pc, spin_arg) of an actor holding an nmspinning increment for an M that
# does not spin yet: wakep between its CAS and startm, or startm/mstart of a
# spinning M. A set of pairs, so that counting them is one C-level pass.
WAKEUP_IN_FLIGHT = frozenset(
    {(PC.WAKEP_PIDLE, 0), (PC.WAKEP_PIDLE, 1), (PC.STARTM, 1), (PC.MSTART, 1)}
)


@foldable
def spins_wrongly(model: GMPModel, t: bytes, m: int) -> bool:
    """Spinning M m parks, or has local work on its P and has not taken it."""
    L = model.L
    if t[L.pc[m]] in (PC.STOPM, PC.PARKED):
        return True
    p = t[L.m_p[m]]
    found = t[L.gp[m]] != NONE or t[L.batch[m]] != NONE
    return p != NONE and not found and not model.runqempty(t, p)


def spinning_accounting(model: GMPModel, t: bytes) -> str | None:
    L = model.L
    if t[L.throw] == THROW_NEGATIVE_NMSPINNING:
        return "nmspinning went negative (Go throws 'negative nmspinning')"
    if t[L.throw]:
        return None
    flags = L.spinnings(t)
    spinning = sum(flags[: L.nM])  # the Ms' (sysmon does not spin)
    if spinning:
        for m in range(L.nM):
            if flags[m] and spins_wrongly(model, t, m):
                if t[L.pc[m]] in (PC.STOPM, PC.PARKED):
                    return f"M{m} parks while spinning (Go throws 'stopm spinning')"
                return f"M{m} is spinning with local work on P{t[L.m_p[m]]}"
    pairs = zip(L.pcs(t), L.spin_args(t), strict=True)
    reserved = sum(map(WAKEUP_IN_FLIGHT.__contains__, pairs))
    n = t[L.nmspinning]
    if n != spinning + reserved:
        return f"nmspinning = {n} but {spinning} Ms spin and {reserved} wakeups are in flight"
    return None


# ---- m-accounting ------------------------------------------------------------------


@foldable
def m_misplaced(model: GMPModel, t: bytes, m: int) -> bool:
    """M m is not where its program counter says it is: parked but not on
    sched.midle exactly once, or holding something; on sched.midle while
    not parked; not created yet but named or holding something; running a G
    without the G running or without a P."""
    L = model.L
    pc = t[L.pc[m]]
    on_idle = t[L.midle : L.midle + L.nM].count(m)
    if pc == PC.PARKED:
        return (
            on_idle != 1 or t[L.m_p[m]] != NONE or t[L.nextp[m]] != NONE or (t[L.curg[m]] != NONE)
        )
    if on_idle:
        return True
    if pc == PC.NOT_CREATED:
        holds = (L.m_p, L.nextp, L.oldp, L.pp, L.curg, L.gp)
        return any(t[f[m]] != NONE for f in holds) or m in L.p_ms(t)
    if pc == PC.RUN:
        g = t[L.curg[m]]
        return g == NONE or t[L.g_status[g]] != G_RUNNING or t[L.m_p[m]] == NONE
    return False


def m_accounting(model: GMPModel, t: bytes) -> str | None:
    L = model.L
    if t[L.throw]:
        return None  # the runtime threw: the property that owns the throw reports it
    for m in range(L.nM):
        if m_misplaced(model, t, m):
            return _m_accounting_problem(model, t, m)
    return None


@explanation
def _m_accounting_problem(model: GMPModel, t: bytes, m: int) -> str:
    """Say where M m is wrongly (off the hot path)."""
    L = model.L
    pc = t[L.pc[m]]
    name = model.pc_name(pc)
    on_idle = q_items(t, L.midle, L.nM).count(m)
    if pc == PC.PARKED:
        if on_idle == 0:
            return f"M{m} is parked but not on sched.midle: no startm can wake it (a thread lost)"
        if on_idle > 1:
            return f"M{m} is on sched.midle {on_idle} times"
        return f"M{m} is parked on sched.midle while it holds a P or a G"
    if on_idle:
        return f"M{m} is on sched.midle while it runs ({name}): startm may hand it a P"
    if pc == PC.NOT_CREATED:
        return f"M{m} does not exist yet but holds or is named by something"
    return f"M{m} runs user code ({name}) without its G running on a P"


# ---- spinning-policy (an action property) --------------------------------------------


@foldable
def wakeup_in_flight(model: GMPModel, t: bytes, a: int) -> bool:
    """Actor a is waking a spinning M for wakep or handoffp (its CAS of
    nmspinning done), or is that M, woken, not yet running schedule."""
    L = model.L
    pc = t[L.pc[a]]
    if (pc, t[L.spin_arg[a]]) in WAKEUP_IN_FLIGHT:
        return True
    return pc == PC.MSTART and t[L.spinning[a]] == 1


@foldable
def breaks_spin_rules(model: GMPModel, t: bytes, u: bytes, a: int) -> bool:
    """Actor a's step from t to u wakes a spinning M while one spins
    (wakep's CAS, handoffp's), or lets an M spin past findRunnable's limit."""
    L = model.L
    was, now = t[L.pc[a]], u[L.pc[a]]
    spinning = t[L.nmspinning]
    if was == PC.WAKEP_CAS and now == PC.WAKEP_PIDLE:
        return spinning != 0
    if was == PC.HANDOFFP_SPIN and now == PC.STARTM and u[L.spin_arg[a]]:
        return spinning + model.npidle(t) != 0
    if now == PC.FR_BECOME_SPINNING and was != PC.FR_BECOME_SPINNING:
        return not 2 * spinning < L.nP - model.npidle(t)
    return False


def spinning_policy(model: GMPModel, t: bytes, label: Action, u: bytes) -> str | None:
    L = model.L
    if u[L.throw]:
        return None
    n = sum(wakeup_in_flight(model, u, a) for a in range(L.nA))
    if n > 1:
        return (
            f"{label}: {n} spinning Ms are being woken at once (wakep and handoffp start one "
            "only when no M spins: nmspinning's CAS from 0)"
        )
    for a in range(L.nA):
        if breaks_spin_rules(model, t, u, a):
            return _spin_rule_problem(model, t, label, u, a)
    return None


@explanation
def _spin_rule_problem(model: GMPModel, t: bytes, label: Action, u: bytes, a: int) -> str:
    L = model.L
    spinning = t[L.nmspinning]
    idle = model.npidle(t)
    if u[L.pc[a]] == PC.WAKEP_PIDLE:
        return (
            f"{label}: wakep wakes another spinning M while nmspinning = {spinning} "
            "(it must return when an M spins)"
        )
    if u[L.pc[a]] == PC.STARTM:
        return (
            f"{label}: handoffp starts a spinning M while nmspinning + npidle = "
            f"{spinning + idle} (only when both are 0)"
        )
    return (
        f"{label}: M{a} goes spinning with {spinning} Ms spinning and {L.nP - idle} Ps busy "
        "(findRunnable lets at most half the busy Ps spin: 2*nmspinning < gomaxprocs - npidle)"
    )


# ---- queue-bounds -------------------------------------------------------------------


def queue_bounds(model: GMPModel, t: bytes) -> str | None:
    L = model.L
    if t[L.throw] == THROW_QUEUE_UNDERFLOW:
        return (
            "a step took more from a queue than it holds, or a negative number "
            "(Go pops a nil G and crashes)"
        )
    if t[L.throw] == THROW_QUEUE_OVERFLOW:
        return "a step put more on a queue than it holds (a G, P or M queued twice)"
    return None


# ---- no-checkdead -------------------------------------------------------------------


def no_checkdead(model: GMPModel, t: bytes) -> str | None:
    L = model.L
    if t[L.throw]:
        return None  # the runtime threw: the property that owns the throw reports it
    if model.checkdead_run(t) > 0:
        return None
    for g in range(L.nG):
        st = t[L.g_status[g]]
        if st in (G_RUNNABLE, G_RUNNING, G_SYSCALL):
            return f"no M is running while G{g} is {G_STATUS_NAMES[st]} (checkdead: runnable g)"
    return None


# ---- work-conservation ------------------------------------------------------------------

QUIESCENT_M = (PC.NOT_CREATED, PC.PARKED, PC.RUN, PC.IN_SYSCALL, PC.THROWN)


def work_conservation(model: GMPModel, t: bytes, strict: bool = False) -> str | None:
    L = model.L
    if t[L.throw]:
        return None  # the runtime threw: the property that owns the throw reports it
    if t[L.pidle] == NONE:
        return None  # no idle P
    for m in range(L.nM):
        if t[L.pc[m]] not in QUIESCENT_M:
            return None  # some M is in the scheduler: it may yet find the work
    if t[L.pc[L.SYSMON]] != PC.SYSMON:
        return None  # sysmon is handing a P off
    idle = q_items(t, L.pidle, L.nP)
    if t[L.grunq] != NONE:
        # "we are not sloppy about thread unparking when submitting to global
        # queue" (proc.go): every P goes idle under sched.lock after looking at it.
        g = t[L.grunq]
        return f"G{g} waits in the global queue while P{idle[0]} is idle and no M looks for work"
    if t[L.needspinning] and not strict:
        # Local work is the sloppy case: a submitter that found no idle P set
        # needspinning, and the next M to drop its P must spin instead.
        return None
    for p in range(L.nP):
        if not model.runqempty(t, p):
            g = t[L.runnext[p]] if t[L.runnext[p]] != NONE else t[L.runq[p]]
            return (
                f"G{g} waits on P{p}'s run queue while P{idle[0]} is idle and no M looks for work"
            )
    return None


def work_conservation_strict(model: GMPModel, t: bytes) -> str | None:
    return work_conservation(model, t, strict=True)


SAFETY = [
    Property(
        "no-lost-g",
        INVARIANT,
        "every live G is in exactly one place (an M, a P's runnext or ring, the global "
        "queue, a transit slot) or waiting; no G vanishes or is duplicated",
        no_lost_g,
        source="reference §10.1; runtime2.go: 'a G can only be on one gQueue or gList'",
    ),
    Property(
        "p-ownership",
        INVARIANT,
        "a running P has exactly one owner M and the back-links agree; an idle P is on "
        "the idle list with an empty run queue or reserved by exactly one M; a P in a "
        "syscall belongs to nobody",
        p_ownership,
        source="wirep/releasep/pidleput checks (proc.go); reference §10.2",
    ),
    Property(
        "spinning-accounting",
        INVARIANT,
        "nmspinning equals the spinning Ms plus the wakeups in flight (never negative); a "
        "spinning M has no local work and does not park",
        spinning_accounting,
        source="'negative nmspinning', 'schedule: spinning with local work', 'stopm "
        "spinning' throws (proc.go); reference §10.3",
    ),
    Property(
        "status-transitions",
        ACTION,
        "a G's status changes only along the runtime's edges, and no step finds a G in a "
        "status it did not expect",
        status_transitions,
        source="casgstatus (proc.go); reference §10.6",
    ),
    Property(
        "no-checkdead",
        INVARIANT,
        "never are all Ms parked while some G is runnable, running or in a syscall",
        no_checkdead,
        source="checkdead's 'checkdead: runnable g' throw (proc.go); reference §9",
    ),
    Property(
        "work-conservation",
        INVARIANT,
        "when no M is in the scheduler, no G waits while a P is idle: none in the global "
        "queue, and none in a local run queue unless needspinning asks the next M to spin",
        work_conservation,
        source="the spinning protocol's promise (proc.go header); reference §10.4",
    ),
    Property(
        "m-accounting",
        INVARIANT,
        "every M is in one place: running a G (on a P), in the scheduler, in a system call, "
        "parked on sched.midle (exactly once, holding nothing), waiting for its locked G, or "
        "not created (holding nothing); no M is lost off the idle list or on it twice",
        m_accounting,
        source="mput/mget and stopm (proc.go: 'stopm holding locks', 'stopm holding p'); "
        "reference §2.3, §3.4",
    ),
    Property(
        "spinning-policy",
        ACTION,
        "at most one spinning M is woken at a time, only when no M spins (wakep's and "
        "handoffp's CAS of nmspinning from 0), and findRunnable lets an M spin only while "
        "fewer than half the busy Ps spin",
        spinning_policy,
        source="wakep ('be conservative about spinning threads'), handoffp, findRunnable's "
        "'2*sched.nmspinning.Load() < gomaxprocs-sched.npidle.Load()' (proc.go); "
        "reference §6.1, §6.5",
    ),
    Property(
        "queue-bounds",
        INVARIANT,
        "no queue operation takes more than the queue holds or a negative number, or puts "
        "more than it can hold (Go crashes on the nil G or throws)",
        queue_bounds,
        source="runqputslow's 'queue is not full', runqputbatch's bounds, globrunqget's "
        "'n = min(n, size)' (proc.go); reference §3",
    ),
    Property(
        "locked-threads",
        INVARIANT,
        "a goroutine locked to its thread (LockOSThread) runs only on that M, and the M "
        "runs no other goroutine",
        locked_threads,
        source="LockOSThread's documentation; startlockedm/stoplockedm (proc.go); reference T22",
    ),
    Property(
        "work-conservation-strict",
        INVARIANT,
        "when no M is in the scheduler, no G waits in any run queue while a P is idle, "
        "needspinning or not (Go 1.25 does not meet this: docs/findings.md)",
        work_conservation_strict,
        source="reference §10.4, safety flavour",
        default=False,
    ),
]
