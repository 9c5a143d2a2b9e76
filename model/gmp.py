"""GMPModel: the Go scheduler as an explicit state machine.

The model is the composition of the parts in this package, each following
a piece of proc.go:

    model/goroutine.py   user code: newproc, goready, gopark, Gosched,
                         goexit, preemption, entersyscall(block), runqput
    model/schedule.py    schedule, findRunnable, stealWork, stopm, execute
    model/wake.py        wakep, startm, mstart, handoffp
    model/syscall.py     exitsyscall, exitsyscallfast, exitsyscall0
    model/sysmon.py      sysmon's retake and preemptone
    model/queues.py      run queues, idle lists, acquirep/releasep

It implements the engine's model protocol (checker/engine/protocol.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from model.action import Action, Refs
from model.config import Config, ConfigError
from model.extension import PC_RANGE, ExtensionError, StateField, declared, declared_fields
from model.goroutine import Goroutines
from model.machine import foldable
from model.pcs import PC, PC_NAMES
from model.schedule import Schedule
from model.state import (
    G_DEAD,
    G_RUNNABLE,
    G_RUNNING,
    G_STATUS_NAMES,
    NONE,
    P_RUNNING,
    P_STATUS_NAMES,
    THROW_NAMES,
    Layout,
    q_items,
)
from model.symmetry import Symmetry
from model.syscall import Syscalls
from model.sysmon import Sysmon
from model.wake import Wake
from model.workloads import Workload, workload_for


def _model_source_hash() -> str:
    """A hash of the model's source: traces record it, so a trace written by
    another version of the model is recognised as stale."""
    h = hashlib.sha256()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


MODEL_HASH = _model_source_hash()
# The names the readable view already uses, per scope: a variant's state
# field may not take one.
VIEW_KEYS = {
    "sched": ("runq", "pidle", "midle", "nmspinning", "needspinning", "throw", "sema"),
    "G": ("id", "status", "at", "preempt"),
    "P": ("id", "status", "m", "runnext", "runq", "schedtick", "sysmon_sched_age",
          "sysmon_syscall_age"),
    "M": ("id", "pc", "p", "nextp", "oldp", "curg", "spinning", "ret", "gp", "inherit", "pp",
          "spin_arg", "steal_pass", "mask", "batch"),
}  # fmt: skip


class GMPModel(Goroutines, Schedule, Wake, Syscalls, Sysmon):
    """The GMP scheduler of Go 1.25 (P in _Psyscall during a system call)."""

    name = "gmp"
    mutation_name = ""

    def __init__(self, cfg: Config, workload: Workload | None = None, symmetry: bool = True):
        if workload is None:
            workload = workload_for(cfg)
        self.cfg = cfg
        self.workload = workload
        self.code = workload.compile()
        try:
            extra = self._extensions()
        except ExtensionError as e:
            raise ConfigError(f"{type(self).__name__}: {e}") from None
        running = min(len(self.code.starts), cfg.cores)
        if cfg.ms < running:
            raise ConfigError(
                f"--max-ms {cfg.ms} is below the {running} threads workload {workload.name!r} "
                f"starts with at --cores {cfg.cores} (one per goroutine running at the start)"
            )
        self.L = Layout(
            cores=cfg.cores,
            max_ms=cfg.ms,
            max_gs=self.code.max_gs,
            ring=cfg.ring,
            semas=len(self.code.sema_names),
            extra=extra,
        )
        if self.L.nA > 250:
            raise ConfigError("too many Ms for the state encoding")
        if self.L.size > 4096:
            raise ConfigError("the state is too large for the state encoding (fields, slots)")
        self._bind_steps()
        self._check_steps()
        self._edge_masks: dict[tuple[int, Action], int] = {}
        self.macro = cfg.steps == "macro"
        # The symmetry the model offers (None: built without one). Whether a
        # search reduces by it is the search's option; nothing changes it.
        self.symmetry = Symmetry(self.L) if symmetry else None

    # ---- what a variant adds (model/extension.py) ------------------------------

    def _extensions(self) -> tuple[StateField, ...]:
        """Read the variant's program counters and state fields, and check
        them: names, values, no clash with the model's own."""
        klass = type(self)
        names = dict(PC_NAMES)
        own_names = set(PC_NAMES.values())
        m_pcs = declared(klass, "program_counters")
        s_pcs = declared(klass, "sysmon_program_counters")
        for decl in (m_pcs, s_pcs):
            for name, value in decl.items():
                if not isinstance(name, str) or not name.isidentifier():
                    raise ExtensionError(f"program counter name {name!r} is not an identifier")
                if name in own_names:
                    raise ExtensionError(
                        f"program counter {name} is the model's own (model/pcs.py)"
                    )
                if type(value) is not int or value not in PC_RANGE:
                    raise ExtensionError(
                        f"program counter {name} = {value!r}: a variant's are "
                        f"{PC_RANGE.start} to {PC_RANGE.stop - 1}"
                    )
                if names.get(value, name) != name:
                    raise ExtensionError(
                        f"program counters {names[value]} and {name} are both {value}"
                    )
                names[value] = name
        self._pc_names = names
        self._extra_m_pcs = frozenset(m_pcs.values())
        self._extra_sysmon_pcs = frozenset(s_pcs.values())
        fields = declared_fields(klass)
        taken = {scope: set(keys) for scope, keys in VIEW_KEYS.items()}
        for f in fields:
            f.check()
            if f.name in taken[f.scope]:
                raise ExtensionError(
                    f"state field {f.name!r} is already a field of {f.scope} in the model's view"
                )
            taken[f.scope].add(f.name)
        return fields

    def _check_steps(self) -> None:
        """Every step is at a program counter the model or the variant declares,
        and every program counter a variant declares has its step."""
        known = self.m_pcs() | self.sysmon_pcs()
        for pc, entry in enumerate(self._dispatch):
            if entry is not None and pc not in known:
                raise ConfigError(
                    f"{type(self).__name__}: a @step at program counter {pc}, which is neither "
                    "the model's (model/pcs.py) nor declared in program_counters"
                )
        for pc in self._extra_m_pcs | self._extra_sysmon_pcs:
            if self._dispatch[pc] is None:
                raise ConfigError(
                    f"{type(self).__name__}: program counter {self.pc_name(pc)} has no @step method"
                )

    def pc_name(self, pc: int) -> str:
        return self._pc_names.get(pc) or f"PC{pc}"

    def m_pcs(self) -> frozenset[int]:
        return super().m_pcs() | self._extra_m_pcs

    def sysmon_pcs(self) -> frozenset[int]:
        return super().sysmon_pcs() | self._extra_sysmon_pcs

    def field(self, name: str) -> int | list[int]:
        """The offset of a variant's state field (sched), or its offsets per
        G, P or M (model/extension.py)."""
        return self.L.extra[name]

    def _extra_view(self, t: bytes | list[int], scope: str, i: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.L.extra_fields:
            if f.scope != scope:
                continue
            at = self.L.extra[f.name]
            v = t[at] if scope == "sched" else t[at[i]]  # type: ignore[index]
            if f.kind == "flag":
                out[f.name] = bool(v)
            elif f.is_ref:
                out[f.name] = None if v == NONE else v
            else:
                out[f.name] = v
        return out

    # ---- the model protocol ---------------------------------------------------

    def initial_states(self) -> list[bytes]:
        """The program starts: m0 runs the main goroutine on allp[0], the
        other Ps are idle (procresize puts them on sched.pidle), sysmon runs.
        A warm-start workload also has goroutines running on P1, P2, ...,
        each on its own M, and those beyond GOMAXPROCS in the global queue."""
        L, code = self.L, self.code
        s = L.blank()
        for m in range(L.nM):
            s[L.pc[m]] = PC.NOT_CREATED
        for g, prog in enumerate(code.starts):
            s[L.g_pc[g]] = code.entry[prog]
            if g < L.nP:
                s[L.g_status[g]] = G_RUNNING
                self.acquirep(s, g, g)
                s[L.curg[g]] = g
                s[L.pc[g]] = PC.RUN
            else:
                s[L.g_status[g]] = G_RUNNABLE
                self.globrunqput(s, g)
        for p in range(L.nP - 1, len(code.starts) - 1, -1):
            self.pidleput(s, p)
        s[L.pc[L.SYSMON]] = PC.SYSMON
        return [bytes(s)]

    def successors(self, t: bytes) -> tuple[list[tuple[int, Action, bytes]], bool]:
        return self.step_successors(t)

    def canonical(self, t: bytes) -> bytes:
        """The canonical form under renaming (the identity without a symmetry);
        a search with symmetry on stores states in it."""
        return self.symmetry.canonical(t) if self.symmetry else t

    def is_final(self, t: bytes) -> bool:
        """A normal end: every goroutine has exited (or the runtime threw,
        which a property reports)."""
        L = self.L
        return t[L.throw] != 0 or all(t[L.g_status[g]] == G_DEAD for g in range(L.nG))

    def checkdead_run(self, t: bytes) -> int:
        """checkdead's `run = mcount() - nmidle - nmidlelocked - nmsys`: the Ms
        that exist less those on sched.midle (an M parked off the idle list,
        which m-accounting reports, counts as running, as in Go). sysmon (in nmsys) does not
        count, except between retake's incidlelocked(-1) and incidlelocked(1),
        which bracket taking a P and handing it off: without that, the M whose
        P sysmon took could leave its syscall, find no P, park, and make
        checkdead see no running M while its G waits in the global queue.
        An M that waits for its locked G is idle too (stoplockedm's
        incidlelocked(1), after its handoffp), until startlockedm's
        incidlelocked(-1) wakes it; if that comes before the M stopped, the
        count is one more for a while, as in Go (checkdead_m)."""
        L = self.L
        run = 0
        for m in range(L.nM):
            run += self.checkdead_m(t, m)
        run -= self.nmidle(t)  # the Ms on sched.midle, not those parked
        if t[L.pc[L.SYSMON]] != PC.SYSMON:
            run += 1  # incidlelocked(-1) during retake's hand-off
        return run

    @foldable
    def checkdead_m(self, t: bytes | list[int], m: int) -> int:
        """How often M m counts in mcount() - nmidlelocked: once if created;
        not while it waits for its locked G (stoplockedm's incidlelocked(1),
        until startlockedm's -1 gives it the G and a P: then once again);
        twice while startlockedm's -1 came before the locked M's own +1 (it
        is still on its way to stopping: in schedule() or its handoffp)."""
        L = self.L
        pc = t[L.pc[m]]
        if pc == PC.NOT_CREATED:
            return 0
        if pc == PC.LOCKED_WAIT:
            return 0 if t[L.nextp[m]] == NONE else 1
        if t[L.lockedg[m]] != NONE and t[L.nextp[m]] != NONE:
            return 2
        return 1

    def fairness_groups(self) -> list[tuple[str, str, str]]:
        """The fairness groups of liveness checking, (name, assumption,
        strength) each (specs/liveness.py FAIRNESS): each M's steps, sysmon's,
        the delivery of a preemption signal to each M, the return of each M's
        system call (weak), the end of each P's time slice and each M's
        successful steals (strong)."""
        nM, nP = self.L.nM, self.L.nP
        return (
            [(f"M{m}", "m", "weak") for m in range(nM)]
            + [("sysmon", "sysmon", "weak")]
            + [(f"signal(M{m})", "signal", "weak") for m in range(nM)]
            + [(f"syscall(M{m})", "syscall", "weak") for m in range(nM)]
            + [(f"timeslice(P{p})", "timeslice", "strong") for p in range(nP)]
            + [(f"steal(M{m})", "steal", "strong") for m in range(nM)]
        )

    def edge_groups(self, actor: int, action: Action) -> int:
        """The fairness groups a step counts for, as a bit mask over
        fairness_groups(): a step of M m is M m's; the preemption signal it
        takes is also signal(M m)'s; leaving a system call is syscall(M m)'s
        only (the M was blocked in the kernel, not waiting to be scheduled);
        a sysmon pass that preempts P p's G is also timeslice(P p)'s. Actions
        repeat: each (actor, action) is read once."""
        key = (actor, action)
        mask = self._edge_masks.get(key)
        if mask is None:
            mask = self._edge_masks[key] = self._edge_mask(actor, action)
        return mask

    def _edge_mask(self, actor: int, action: Action) -> int:
        nM = self.L.nM
        if actor == self.L.SYSMON:
            mask = 1 << nM
            step = next((a for a in action.steps() if a.has("preempt")), None)
            preempt = step.get("preempt") if step is not None else None
            if step is not None and isinstance(preempt, Refs):
                for group in preempt:
                    # P0:G1; the open world's names the G alone (G1), its P as p
                    p = dict(group).get("P", step.get("p"))
                    if isinstance(p, int):
                        mask |= 1 << (3 * nM + 1 + p)
            return mask
        if action.procedure.startswith("preempt.async"):
            return (1 << actor) | (1 << (nM + 1 + actor))
        if action.procedure.startswith("exitsyscall"):
            return 1 << (2 * nM + 1 + actor)
        if any(a.calls("stealWork") and isinstance(a.get("gs"), tuple) for a in action.steps()):
            return (1 << actor) | (1 << (3 * nM + 1 + self.L.nP + actor))
        return 1 << actor

    def state_groups(self, t: bytes) -> int:
        """The strong groups enabled in t: timeslice(P p) while P p runs a G
        that has used up its time slice and no preemption is pending — sysmon
        has seen its schedtick and the G ran since (model/sysmon.py).
        Strong fairness: a slice that keeps running out is eventually ended
        by sysmon (time passes); a slice renewed by a new schedtick is not."""
        L = self.L
        mask = 0
        base = 3 * L.nM + 1
        for p in range(L.nP):
            if t[L.p_status[p]] == P_RUNNING and t[L.sched_age[p]] == 2:
                g = t[L.curg[t[L.p_m[p]]]]
                if g != NONE and not t[L.g_preempt[g]]:
                    mask |= 1 << (base + p)
        return mask

    def actor_names(self) -> list[str]:
        return [f"M{m}" for m in range(self.L.nM)] + ["sysmon"]

    def describe(self) -> dict[str, Any]:
        d = self.cfg.as_dict()
        d["workload"] = self.workload.name
        d["mutation"] = self.mutation_name
        if self.plugin is not None:
            d["plugin"] = self.plugin["name"]
        return d

    def model_hash(self) -> str:
        return MODEL_HASH

    # ---- the readable view ------------------------------------------------------

    def view(self, t: bytes | list[int]) -> dict[str, Any]:
        """The state with named fields, as traces show it."""
        L, code = self.L, self.code

        def g_(v: int) -> int | None:
            return None if v == NONE else v

        gs = []
        for g in range(L.nG):
            st = t[L.g_status[g]]
            entry = {"id": g, "status": G_STATUS_NAMES[st]}
            if st != G_DEAD:
                pc = t[L.g_pc[g]]
                entry["at"] = code.describe(pc)
                entry["preempt"] = bool(t[L.g_preempt[g]])
            if L.extra_fields:
                entry.update(self._extra_view(t, "G", g))
            gs.append(entry)
        ps = []
        for p in range(L.nP):
            ps.append(
                {
                    "id": p,
                    "status": P_STATUS_NAMES[t[L.p_status[p]]],
                    "m": g_(t[L.p_m[p]]),
                    "runnext": g_(t[L.runnext[p]]),
                    "runq": q_items(t, L.runq[p], L.C),
                    "schedtick": t[L.schedtick[p]],
                    "sysmon_sched_age": t[L.sched_age[p]],
                    "sysmon_syscall_age": t[L.sysc_age[p]],
                    **(self._extra_view(t, "P", p) if L.extra_fields else {}),
                }
            )
        ms = []
        for m in range(L.nA):
            pc = t[L.pc[m]]
            entry = {"id": "sysmon" if m == L.SYSMON else m, "pc": self.pc_name(pc)}
            if m != L.SYSMON:
                entry.update(
                    p=g_(t[L.m_p[m]]),
                    nextp=g_(t[L.nextp[m]]),
                    oldp=g_(t[L.oldp[m]]),
                    curg=g_(t[L.curg[m]]),
                    spinning=bool(t[L.spinning[m]]),
                )
            entry.update(
                ret=self.pc_name(t[L.ret[m]]) if t[L.ret[m]] else None,
                gp=g_(t[L.gp[m]]),
                inherit=bool(t[L.inherit[m]]),
                pp=g_(t[L.pp[m]]),
                spin_arg=bool(t[L.spin_arg[m]]),
                steal_pass=t[L.steal_pass[m]],
                mask=t[L.mask[m]],
                batch=q_items(t, L.batch[m], L.B),
            )
            if t[L.steal_victim[m]] != NONE:
                entry.update(steal_victim=t[L.steal_victim[m]], steal_next=g_(t[L.steal_next[m]]))
            if L.extra_fields and m != L.SYSMON:
                entry.update(self._extra_view(t, "M", m))
            ms.append(entry)
        sched = {
            "runq": q_items(t, L.grunq, L.nG),
            "pidle": q_items(t, L.pidle, L.nP),
            "midle": q_items(t, L.midle, L.nM),
            "nmspinning": t[L.nmspinning],
            "needspinning": t[L.needspinning],
            "throw": THROW_NAMES[t[L.throw]] or None,
            "sema": {n: t[L.sema + i] for i, n in enumerate(code.sema_names)},
            **(self._extra_view(t, "sched") if L.extra_fields else {}),
        }
        return {"G": gs, "P": ps, "M": ms[: L.nM], "sysmon": ms[L.SYSMON], "sched": sched}
