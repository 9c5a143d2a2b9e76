"""Runtime: the GMP scheduler of Go 1.25 on real threads.

The composition of the parts in this package, each the executable twin of
the model's module of the same name:

    runtime/goroutine.py   user code: newproc, goready, gopark, Gosched,
                           goexit, preemption, entersyscall(block), runqput
    runtime/schedule.py    schedule, findRunnable, stealWork, stopm, execute
    runtime/wake.py        wakep, startm, mstart, handoffp
    runtime/syscall.py     exitsyscall, exitsyscallfast, exitsyscall0
    runtime/sysmon.py      sysmon's retake and preemptone
    runtime/queues.py      run queues, idle lists, acquirep/releasep

plus what only a runtime has: objects (runtime/objects.py), the step locks
(runtime/locks.py), threads (runtime/threads.py) and the projection into the
model's state vector (runtime/project.py). docs/runtime.md is the design.
"""

from __future__ import annotations

import random

from model.config import Config
from model.pcs import PC
from model.state import G_RUNNABLE, G_RUNNING, Layout
from model.workloads import Workload, workload_for
from runtime.goroutine import Goroutines
from runtime.locks import (
    R_G,
    R_GFREE,
    R_IDLEPMASK,
    R_M,
    R_NEEDSPINNING,
    R_NMSPINNING,
    R_NPIDLE,
    R_P,
    R_RUNQSIZE,
    R_SCHED,
    R_SEMA,
    Unit,
)
from runtime.machine import Journal
from runtime.objects import G, GFree, M, P, Sched, Sema
from runtime.project import Projection
from runtime.schedule import Schedule
from runtime.syscall import Syscalls
from runtime.sysmon import Sysmon
from runtime.threads import Threads
from runtime.wake import Wake


class Runtime(Threads, Projection, Goroutines, Schedule, Wake, Syscalls, Sysmon):
    """The scheduler on real threads; `mutation_name` says which variant."""

    mutation_name = ""

    def __init__(
        self,
        cfg: Config,
        workload: Workload | None = None,
        *,
        seed: int = 0,
        grow_gs: bool = False,
    ):
        if workload is None:
            workload = workload_for(cfg)
        self.cfg = cfg
        self.workload = workload
        self.code = workload.compile()
        self.seed = seed
        self.grow_gs = grow_gs
        self.L = L = Layout(
            cores=cfg.cores,
            max_ms=cfg.ms,
            max_gs=self.code.max_gs,
            ring=cfg.ring,
            semas=len(self.code.sema_names),
        )
        self.SYSMON = L.SYSMON
        self._build_objects()
        self._bind_steps()
        self._init_threads()
        self.journal = Journal()
        # The runtime's own random choices (steal order, sysmon's order,
        # syscall lengths): seeded per thread, a string seed hashes the same
        # in every process.
        self.rngs = [random.Random(f"{seed}:{a}") for a in range(L.nA)]
        self._init_state()

    # ---- objects and their step-lock units --------------------------------------------

    def _build_objects(self) -> None:
        L = self.L

        def span(start: int, width: int) -> tuple[int, int]:
            return (start, start + width)

        units = {
            "sched": Unit(R_SCHED, "sched.lock", span(L.grunq, L.nG + L.nP + L.nM)),
            "runqsize": Unit(R_RUNQSIZE, "sched.runq.size"),
            "npidle": Unit(R_NPIDLE, "sched.npidle"),
            "idlepMask": Unit(R_IDLEPMASK, "idlepMask"),
            "nmspinning": Unit(R_NMSPINNING, "sched.nmspinning", span(L.nmspinning, 1)),
            "needspinning": Unit(R_NEEDSPINNING, "sched.needspinning", span(L.needspinning, 1)),
        }
        self.sched = sched = Sched(units)
        sched.unit.encode = self.encode_sched
        units["nmspinning"].encode = lambda s: s.__setitem__(L.nmspinning, sched.nmspinning.load())
        units["needspinning"].encode = lambda s: s.__setitem__(
            L.needspinning, sched.needspinning.load()
        )
        self.gfree = GFree(Unit(R_GFREE, "sched.gFree.lock"))
        self.semas = []
        for i, name in enumerate(self.code.sema_names):
            sm = Sema(name, Unit(R_SEMA + i, f"sema {name}", span(L.sema + i, 1)))
            sm.unit.encode = self._sema_encoder(i)
            self.semas.append(sm)
        self.allp = []
        for p in range(L.nP):
            pp = P(p, L.C, Unit(R_P + p, f"P{p}", span(L.p_status[p], L.P_WIDTH)))
            pp.unit.encode = self._encoder(self.encode_p, p)
            self.allp.append(pp)
        self.allm = []
        for a in range(L.nA):
            name = "sysmon" if a == L.SYSMON else f"M{a}"
            mp = M(a, Unit(R_M + a, name, span(L.pc[a], L.A_WIDTH)))
            mp.unit.encode = self._encoder(self.encode_m, a)
            self.allm.append(mp)
        self.allg = []
        for _ in range(L.nG):
            self.new_g()

    def _encoder(self, fn, i: int):
        return lambda s: fn(s, i)

    def _sema_encoder(self, i: int):
        L = self.L
        return lambda s: s.__setitem__(L.sema + i, self.semas[i].pending)

    def new_g(self) -> int:
        """A new G slot (malg): dead until newproc1 starts it. Beyond the
        configuration's G slots (a stress run) it has no place in the state
        vector."""
        g = len(self.allg)
        span = (self.L.g_status[g], self.L.g_status[g] + 3) if g < self.L.nG else None
        gp = G(g, Unit(R_G + g, f"G{g}", span))
        if span is not None:
            gp.unit.encode = self._encoder(self.encode_g, g)
        self.allg.append(gp)
        return g

    def all_units(self) -> list[Unit]:
        s = self.sched
        return [
            s.unit,
            s.u_runqsize,
            s.u_npidle,
            s.u_idlepMask,
            s.u_nmspinning,
            s.u_needspinning,
            self.gfree.unit,
            *(sm.unit for sm in self.semas),
            *(pp.unit for pp in self.allp),
            *(mp.unit for mp in self.allm),
            *(gp.unit for gp in self.allg),
        ]

    # ---- the initial state: model/gmp.py initial_states ------------------------------

    def _init_state(self) -> None:
        """The program starts: m0 runs the main goroutine on allp[0], the
        other Ps are idle, sysmon runs; a warm-start workload also has
        goroutines running on P1, P2, ... (one M each) and the rest in the
        global queue."""
        L, code = self.L, self.code
        for g, prog in enumerate(code.starts):
            gp = self.allg[g]
            self.gfree.goidgen += 1
            gp.start(code, code.entry[prog], self.gfree.goidgen)
            if g < L.nP:
                gp.status = G_RUNNING
                self.acquirep(g, g)
                self.allm[g].curg = g
                self.allm[g].pc = PC.RUN
                self.sched.mcount += 1
            else:
                gp.status = G_RUNNABLE
                self.globrunqput(g)
        for p in range(L.nP - 1, len(code.starts) - 1, -1):
            self.pidleput(p)
        for g in range(len(code.starts), L.nG):
            self.gfree.put(g)
        self.allm[self.SYSMON].pc = PC.SYSMON

    # ---- what checkdead sees ---------------------------------------------------------------

    def checkdead_run(self) -> int:
        """checkdead's `run = mcount() - nmidle - nmidlelocked - nmsys`
        (under sched.lock). The model derives the same count from its Ms'
        pcs (model/gmp.py checkdead_run); replay and record compare them."""
        s = self.sched
        return s.mcount - len(s.midle) - s.nmidlelocked - s.nmsys
