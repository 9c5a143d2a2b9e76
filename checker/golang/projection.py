"""The projection: what of a model state a Go execution trace can see.

A trace reports goroutine and proc states and which thread (M) and proc (P)
each event happened on; it says nothing of run queues, spinning, the idle
lists or where an M is in the scheduler. The projection keeps exactly what
it reports:

    per G slot   its status (dead, runnable, running, syscall, waiting) and,
                 when running or in a syscall, the M whose curg it is
    per P        idle or running, and the M that holds it

A model step is *observed* when it changes the projection, and then it
must be the step the trace's next event (or events) describe; every other
step is unobserved, and any number of them may happen between two events.

Where the runtime reports a state before or after the model's step makes
it so, the projection follows the trace (Go 1.26, model/go126.py):
  - exitsyscall switches the G to _Grunning before it knows whether it has
    a P; the trace reports the end of the syscall only once it does (a
    GoSyscallEnd, or ProcStart + GoSyscallEndBlocked + GoStart). While its M
    is in exitsyscallTryGetP or exitsyscallNoP the G is projected as still
    in the syscall.
  - entersyscallblock reports GoSyscallBegin before it hands the P off and
    switches the G; while its M is in that hand-off the G is projected as in
    the syscall already.
  - Go 1.25's _Psyscall P (the go1.25 profile) is, for the trace, still
    running and held by the M in the syscall.

docs/conformance.md has the table of trace events against model steps.
"""

from __future__ import annotations

from model.pcs import PC
from model.state import G_RUNNING, G_SYSCALL, NONE, P_IDLE, P_SYSCALL

# Trace state names (internal/trace GoState / ProcState) -> model codes.
TRACE_G = {"NotExist": 0, "Runnable": 1, "Running": 2, "Syscall": 3, "Waiting": 4}
TRACE_P = {"Idle": 0, "Running": 1}
G_NAMES = {v: k for k, v in TRACE_G.items()}
P_NAMES = {v: k for k, v in TRACE_P.items()}

# An M at one of these has a _Grunning curg that the trace still sees in a syscall.
SYSCALL_WINDOW = frozenset(
    {PC.ENTERSYSCALLBLOCK_CAS, PC.EXITSYSCALL_OLDP, PC.EXITSYSCALL_PIDLE, PC.EXITSYSCALL0}
)


class Projection:
    """alpha(state): the projection as a flat tuple: each G slot's status,
    then each G slot's M (when running or in a system call), then each P's
    status and M."""

    def __init__(self, model):
        L = model.L
        self.L = L
        self.view = getattr(model, "view", None) or (lambda t: t)
        self.nG, self.nP, self.nM = L.nG, L.nP, L.nM
        self._window = {int(pc) for pc in SYSCALL_WINDOW}
        self._blockret = int(PC.ENTERSYSCALLBLOCK_CAS)
        self._in_syscall = int(PC.IN_SYSCALL)
        self._gspan = (L.g_base, L.g_base + 3 * L.nG)

    def alpha(self, t: bytes) -> tuple[int, ...]:
        L = self.L
        t = self.view(t)
        nG = self.nG
        lo, hi = self._gspan
        status = list(t[lo:hi:3])
        gm = [NONE] * nG
        oldp_holder: dict[int, int] = {}
        for m in range(self.nM):
            g = t[L.curg[m]]
            pc = t[L.pc[m]]
            if g != NONE:
                st = status[g]
                if st == G_RUNNING and (pc in self._window or t[L.ret[m]] == self._blockret):
                    st = status[g] = G_SYSCALL
                if st in (G_RUNNING, G_SYSCALL):
                    gm[g] = m
            if pc == self._in_syscall and t[L.oldp[m]] != NONE:
                oldp_holder[t[L.oldp[m]]] = m
        out = status + gm
        for p in range(self.nP):
            st = t[L.p_status[p]]
            if st == P_IDLE:
                out += (0, NONE)
            elif st == P_SYSCALL:
                out += (1, oldp_holder.get(p, NONE))
            else:
                out += (1, t[L.p_m[p]])
        return tuple(out)

    # Offsets into alpha().
    def g_at(self, g: int) -> int:
        """A G slot's status."""
        return g

    def gm_at(self, g: int) -> int:
        """The M a running (or in-syscall) G slot is on."""
        return self.nG + g

    def p_at(self, p: int) -> int:
        """A P's status; its M at p_at(p) + 1."""
        return 2 * self.nG + 2 * p
