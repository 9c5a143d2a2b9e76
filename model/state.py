"""The state encoding: one flat vector of small ints, and its readable view.

A state is a `bytes` value (every field fits in 0..255; NONE = 255 is "no G /
no P / no M"). Steps work on a `list[int]` copy and the engine stores the
bytes: equality and hashing are cheap, and the same state is the same bytes
in every process.

The vector is laid out in blocks, one per entity, so that symmetry reduction
can permute whole blocks; inside a block, the fields that name other
entities come last, grouped by what they name, so that renaming is a byte
translation of a slice (model/symmetry.py):

    G block  (one per goroutine slot)  status, pc, preempt
    P block  (one per P)               status, schedtick, sched_age, sysc_age,
                                       m, runnext, ring[ring]
    actor    (one per M, then sysmon)  pc, ret, inherit, spinning, spin_arg,
                                       steal_pass, mask, curg, gp,
                                       batch[ring/2 + 1], steal_next, lockedg,
                                       p, nextp, oldp, pp, steal_victim
    sched                              nmspinning, needspinning, throw,
                                       runq[max_gs], pidle[cores], midle[max_ms],
                                       sema[semaphores], lastpoll (open world)

Queues are kept packed at the front of their slots, padded with NONE: the
local ring and the global run queue in FIFO order (head first), the idle P
and idle M lists as stacks (top last), as `pidleput`/`mput` push and
`pidleget`/`mget` pop. Fields that hold nothing meaningful are kept at a
fixed value (NONE or 0) so that equal situations are equal states.

`Layout` gives each field's offset: `s[L.runnext[p]]` is P p's runnext.
"""

from __future__ import annotations

from array import array
from operator import itemgetter

from model.extension import StateField

NONE = 255

# G status (runtime2.go _Gidle.._Gdead; _Gidle is folded into dead, the
# scan bits and _Gcopystack are not modelled).
G_DEAD, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING = 0, 1, 2, 3, 4
G_STATUS_NAMES = ["dead", "runnable", "running", "syscall", "waiting"]

# P status (runtime2.go; _Pgcstop and _Pdead are not modelled: no STW, no
# GOMAXPROCS change).
P_IDLE, P_RUNNING, P_SYSCALL = 0, 1, 2
P_STATUS_NAMES = ["idle", "running", "syscall"]

# Runtime throws the model can reach. Go would crash the process there; the
# model records which one and the throwing actor stops.
THROW_NONE = 0
THROW_NEGATIVE_NMSPINNING = 1  # "findRunnable: negative nmspinning" and friends
THROW_BAD_G_STATUS = 2  # casgstatus found a status other than the one expected
THROW_QUEUE_OVERFLOW = 3  # a queue got more entries than it can hold (a P queued twice...)
THROW_QUEUE_UNDERFLOW = 4  # more taken from a queue than it holds, or a negative count
THROW_NAMES = [
    "",
    "negative nmspinning",
    "casgstatus: bad g status",
    "queue overflow",
    "queue underflow",
]


class QueueError(Exception):
    """A queue operation Go cannot do: only a broken scheduler (a mutation)
    gets here, and the step is recorded as the runtime's throw (`code`), on
    the state before it, never carried out halfway or clamped."""

    code = 0
    what = ""


class QueueOverflow(QueueError):
    """A queue of the model got more entries than it can hold."""

    code = THROW_QUEUE_OVERFLOW
    what = "queue overflow"


class QueueUnderflow(QueueError):
    """More entries were taken from a queue than it holds, or a negative
    number: Go would pop a nil G (and crash on it) or corrupt the queue."""

    code = THROW_QUEUE_UNDERFLOW
    what = "queue underflow"


def freeze_wide(s: array[int] | list[int]) -> bytes:
    """A wide state's encoding: every field as two bytes (machine order)."""
    if type(s) is not array:
        s = array("H", s)
    return s.tobytes()


def view_wide(t: bytes) -> memoryview:
    """Read a wide state field by field: t[i] is field i, an int."""
    return memoryview(t).cast("H")


def thaw_wide(t: bytes | memoryview) -> array[int]:
    """A wide state to change: an array of its fields (steps write s[i] as
    they write a list's)."""
    s = array("H")
    s.frombytes(t.obj if type(t) is memoryview else t)
    return s


class Layout:
    """Offsets of every field of the state vector for one configuration."""

    G_WIDTH = 3

    def __init__(
        self,
        cores: int,
        max_ms: int,
        max_gs: int,
        ring: int,
        semas: int,
        extra: tuple[StateField, ...] = (),
        lastpoll: bool = False,
        batch: int = 0,
        wide: bool = False,
    ):
        self.nP, self.nM, self.nG, self.C, self.nS = cores, max_ms, max_gs, ring, semas
        # runqputslow moves ring/2 + 1; a steal at most ring/2 (the open world
        # sizes it for a global-queue batch too: model/openworld.py).
        self.B = batch or ring // 2 + 1
        # Wide: fields of two bytes, so that G ids may exceed 254 (the open
        # world of a program with many goroutines); see freeze_wide. The G
        # slot whose id is NONE is then never used.
        self.wide = wide
        self.nA = max_ms + 1  # actors: the Ms, then sysmon
        self.SYSMON = max_ms
        off = 0

        # G blocks.
        self.g_base = off
        self.g_status = [off + 3 * g for g in range(max_gs)]
        self.g_pc = [off + 3 * g + 1 for g in range(max_gs)]
        self.g_preempt = [off + 3 * g + 2 for g in range(max_gs)]
        off += 3 * max_gs

        # P blocks: plain fields, then the M reference, then the G references.
        self.P_WIDTH = pw = 6 + ring
        self.p_base = off
        self.p_status = [off + pw * p for p in range(cores)]
        self.schedtick = [off + pw * p + 1 for p in range(cores)]
        self.sched_age = [off + pw * p + 2 for p in range(cores)]
        self.sysc_age = [off + pw * p + 3 for p in range(cores)]
        self.p_m = [off + pw * p + 4 for p in range(cores)]
        self.runnext = [off + pw * p + 5 for p in range(cores)]
        self.runq = [off + pw * p + 6 for p in range(cores)]
        off += pw * cores

        # Actor blocks (Ms, then sysmon): plain fields, the P mask, the G
        # references, then the P references.
        self.A_WIDTH = aw = 16 + self.B
        self.a_base = off
        na = self.nA
        self.pc = [off + aw * a for a in range(na)]
        self.ret = [off + aw * a + 1 for a in range(na)]
        self.inherit = [off + aw * a + 2 for a in range(na)]
        self.spinning = [off + aw * a + 3 for a in range(na)]
        self.spin_arg = [off + aw * a + 4 for a in range(na)]
        self.steal_pass = [off + aw * a + 5 for a in range(na)]
        self.mask = [off + aw * a + 6 for a in range(na)]
        self.curg = [off + aw * a + 7 for a in range(na)]
        self.gp = [off + aw * a + 8 for a in range(na)]
        self.batch = [off + aw * a + 9 for a in range(na)]
        # runqgrab's runnext steal reads the victim's runnext, sleeps, then
        # CASes it (model/schedule.py); in between the thief keeps the G it
        # read and the victim. The G is not in the thief's hands: it is the
        # old value the CAS compares with, not a place the G is, so it is not
        # among the places g_ref_offsets lists (specs/safety.py no_lost_g).
        self.steal_next = [off + aw * a + 9 + self.B for a in range(na)]
        # m.lockedg (LockOSThread): the G locked to this M, whatever its
        # status (g.lockedm is its inverse). Not a place the G is either.
        self.lockedg = [off + aw * a + 10 + self.B for a in range(na)]
        b = 11 + self.B
        self.m_p = [off + aw * a + b for a in range(na)]
        self.nextp = [off + aw * a + b + 1 for a in range(na)]
        self.oldp = [off + aw * a + b + 2 for a in range(na)]
        self.pp = [off + aw * a + b + 3 for a in range(na)]
        self.steal_victim = [off + aw * a + b + 4 for a in range(na)]
        off += aw * na

        # sched.
        self.nmspinning = off
        self.needspinning = off + 1
        self.throw = off + 2
        off += 3
        self.grunq = off
        off += max_gs
        self.pidle = off
        off += cores
        self.midle = off
        off += max_ms
        self.sema = off
        off += semas
        # sched.lastpoll (0: an M is blocked in netpoll), in the open world
        # only (model/openworld.py): the closed world has no network poller.
        self.lastpoll = off if lastpoll else -1
        off += 1 if lastpoll else 0
        self.base_size = off

        # Fields a variant adds (model/extension.py StateField), after the
        # model's own: one byte for a sched field, one per G, P or M else.
        self.extra_fields = tuple(extra)
        self.extra: dict[str, int | list[int]] = {}
        count = {"sched": 1, "G": max_gs, "P": cores, "M": max_ms}
        for f in self.extra_fields:
            if f.scope == "sched":
                self.extra[f.name] = off
            else:
                self.extra[f.name] = list(range(off, off + count[f.scope]))
            off += count[f.scope]
        self.size = off

        # Offsets whose values name a G, a P or an M (for symmetry and checks).
        self.g_ref_offsets = (
            self.runnext
            + [self.runq[p] + i for p in range(cores) for i in range(ring)]
            + self.curg
            + self.gp
            + [self.batch[a] + i for a in range(na) for i in range(self.B)]
            + [self.grunq + i for i in range(max_gs)]
        )
        self.p_ref_offsets = (
            self.m_p + self.nextp + self.oldp + self.pp + [self.pidle + i for i in range(cores)]
        )
        self.m_ref_offsets = self.p_m + [self.midle + i for i in range(max_ms)]
        self.steal_ref_offsets = self.steal_next + self.steal_victim + self.lockedg
        self.lockedgs = itemgetter(*self.lockedg)
        self.g_ref_offsets_sorted = sorted(self.g_ref_offsets)
        # Read many fields at once (for the properties' hot paths).
        self.g_refs = itemgetter(*self.g_ref_offsets)
        self.m_ps = itemgetter(*self.m_p)
        self.p_ms = fields(self.p_m)
        self.nextps = itemgetter(*self.nextp)
        self.pps = itemgetter(*self.pp)
        self.pcs = itemgetter(*self.pc)
        self.spin_args = itemgetter(*self.spin_arg)
        self.spinnings = itemgetter(*self.spinning)
        self.p_statuses = fields(self.p_status)

    def blank(self) -> list[int]:
        """A vector with every reference NONE and every counter 0."""
        s = [0] * self.size
        refs = self.g_ref_offsets + self.p_ref_offsets + self.m_ref_offsets
        for off in refs + self.steal_ref_offsets:
            s[off] = NONE
        for f in self.extra_fields:
            if f.is_ref:
                s[self.extra[f.name]] = NONE  # type: ignore[index]  # a ref field's one offset
        for a in range(self.nA):
            s[self.ret[a]] = 0
        return s


def fields(offsets: list[int]) -> itemgetter[object]:
    """Reads the values at offsets as one sequence, however many there are
    (itemgetter of a single offset would return the bare value)."""
    if len(offsets) == 1:
        return itemgetter(slice(offsets[0], offsets[0] + 1))
    return itemgetter(*offsets)


# Packed queues. `start` is the first slot, `cap` the number of slots.


def q_items(s: list[int] | bytes, start: int, cap: int) -> list[int]:
    """The queue's contents, head (or bottom of stack) first."""
    out = []
    for i in range(start, start + cap):
        v = s[i]
        if v == NONE:
            break
        out.append(v)
    return out


def q_len(s: list[int] | bytes, start: int, cap: int) -> int:
    n = 0
    for i in range(start, start + cap):
        if s[i] == NONE:
            break
        n += 1
    return n


def q_push(s: list[int], start: int, cap: int, v: int) -> None:
    """Append at the tail (FIFO) or push on top (stack). The caller checks room."""
    n = q_len(s, start, cap)
    if n >= cap:
        raise QueueOverflow
    s[start + n] = v


def q_pop_head(s: list[int], start: int, cap: int, n: int = 1) -> list[int]:
    """Remove and return the first n entries (FIFO order). Taking more than
    the queue holds, or a negative number, is QueueUnderflow: the caller
    checks how many there are (a pop from a queue that may be empty asks
    q_len first)."""
    items = q_items(s, start, cap)
    if n < 0 or n > len(items):
        raise QueueUnderflow
    taken, rest = items[:n], items[n:]
    _store(s, start, rest + [NONE] * (cap - len(rest)))
    return taken


def q_pop_top(s: list[int], start: int, cap: int) -> int:
    """Pop the top of a stack (the last entry); NONE if empty."""
    n = q_len(s, start, cap)
    if n == 0:
        return NONE
    v = s[start + n - 1]
    s[start + n - 1] = NONE
    return v


def q_remove(s: list[int], start: int, cap: int, v: int) -> None:
    items = [x for x in q_items(s, start, cap) if x != v]
    _store(s, start, items + [NONE] * (cap - len(items)))


def _store(s: list[int] | array[int], start: int, values: list[int]) -> None:
    """s[start:start + len(values)] = values, for a list (or the symbolic
    engine's state) or an array (a wide state)."""
    s[start : start + len(values)] = array("H", values) if type(s) is array else values  # type: ignore[assignment]
