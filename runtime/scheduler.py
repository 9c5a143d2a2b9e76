"""Runtime: Go 1.25's scheduler on real threads, written as proc.go reads.

    runtime/proc.py     schedule, findRunnable, stealWork, stopm, execute,
                        stoplockedm, startlockedm
    runtime/wake.py     wakep, startm, mstart, handoffp
    runtime/user.py     the G's instructions: newproc, ready, gopark,
                        Gosched, goyield, preemption, goexit, entersyscall
    runtime/syscall.py  exitsyscall, exitsyscallfast, exitsyscall0
    runtime/sysmon.py   sysmon, retake, preemptone
    runtime/queues.py   run queues, idle lists, acquirep/releasep
    runtime/go126.py    Go 1.26's system calls (no _Psyscall): the go1.26
                        profile's Runtime126, a subclass of this one

and what only a runtime has: the objects (objects.py), the schedule points
and their controller (control.py), the threads and their drivers
(threads.py), the projection into the model's state vector (project.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from model.config import Config
from model.state import G_RUNNABLE, G_RUNNING, THROW_BAD_G_STATUS, Layout
from model.workloads import Workload, workload_for
from runtime.control import Mutex, Point, Throw
from runtime.objects import G, M, P, Sched, Sema
from runtime.project import Projection
from runtime.sysmon import Monitor
from runtime.threads import Threads


class Runtime(Threads, Monitor, Projection):
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
        self.cfg = cfg
        self.workload = workload or workload_for(cfg)
        self.code = self.workload.compile()
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
        self.nM = L.nM
        self.sched = Sched()
        self.semas = [Sema(name) for name in self.code.sema_names]
        self.allp = [P(p, L.C) for p in range(L.nP)]
        self.allm = [M(a) for a in range(L.nA)]
        self.allg: list[G] = []
        for _ in range(L.nG):
            self.new_g()
        self._init_threads()
        self._init_state()

    def new_g(self) -> int:
        """malg: a new G, dead until newproc1 starts it."""
        self.allg.append(G(len(self.allg)))
        return len(self.allg) - 1

    def _init_state(self) -> None:
        """The program starts: m0 runs the main goroutine on allp[0], the
        other Ps are idle, sysmon runs; a warm-start workload also has
        goroutines running on P1, P2, ... (an M each) and the rest in the
        global queue."""
        code, nP = self.code, len(self.allp)
        for g, prog in enumerate(code.starts):
            gp = self.allg[g]
            self.sched.goidgen += 1
            gp.start(code, code.entry[prog], self.sched.goidgen)
            if g < nP:
                gp.status = G_RUNNING
                self.acquirep(self.allm[g], self.allp[g])
                self.allm[g].curg = g
                self.sched.mcount += 1
            else:
                gp.status = G_RUNNABLE
                self.globrunqput(g)
        for p in range(nP - 1, len(code.starts) - 1, -1):
            self.pidleput(self.allp[p])
        for g in range(len(code.starts), len(self.allg)):
            self.sched.gfput(g)

    def first_threads(self) -> list[tuple[M, Callable[[], None]]]:
        out: list[tuple[M, Callable[[], None]]] = []
        for mp in self.allm[: self.nM]:
            if mp.curg is not None:
                out.append((mp, partial(self.resume_curg, mp)))
        sm = self.allm[self.SYSMON]
        out.append((sm, lambda: self.sysmon(sm)))
        return out

    def resume_curg(self, mp: M) -> None:
        """A thread that starts running its G (gogo), then schedules."""
        self.schedule(mp, self.gogo(mp))

    def newm(self, mp: M, spinning: bool) -> None:
        """newm: a new OS thread for mp, which starts in mstart."""
        self.spawn(mp, lambda: self.mstart(mp, spinning))

    # ---- schedule points ------------------------------------------------------------------

    def point(self, mp: M, where: str, **frame: Any) -> Any:
        return self.control.point(mp, Point(where, frame))

    def choose(
        self, mp: M, where: str, options: Callable[[], list], shuffle: bool = False, **frame: Any
    ) -> Any:
        return self.control.point(mp, Point(where, frame, options, shuffle))

    def notesleep(self, mp: M, where: str, **frame: Any) -> None:
        self.control.sleep(mp, mp.park, Point(where, frame))

    def notewakeup(self, mp: M) -> None:
        self.control.wakeup(mp.park)

    # ---- helpers ----------------------------------------------------------------------------

    def casgstatus(self, g: int, old: int, new: int) -> None:
        """casgstatus(gp, old, new): Go throws when the G is not in `old`."""
        gp = self.allg[g]
        if gp.status != old:
            raise Throw(THROW_BAD_G_STATUS, "casgstatus: bad g status")
        gp.status = new

    def locks(self) -> list[Mutex]:
        return [self.sched.lock, *(sm.lock for sm in self.semas)]

    def checkdead_run(self) -> int:
        """checkdead's `run = mcount() - nmidle - nmidlelocked - nmsys`."""
        s = self.sched
        return s.mcount - len(s.midle) - s.nmidlelocked - s.nmsys
