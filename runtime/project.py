"""The runtime's state in the model's vocabulary: its state vector
(model/state.py Layout), so that replay and record compare the two byte
for byte. Where an M is (the model's program counter and return address)
is for the caller to say from the M's schedule point and traceback
(checker/replay/points.py): the runtime knows nothing of the model's
program counters. Read while no thread runs (every one stopped at a
point, parked, or gone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model.state import NONE, Layout
from runtime.objects import M, P, Sched, Sema

# The M's location: (where it is, its traceback) -> (pc, ret).
Locate = Callable[[str, tuple[str, ...]], tuple[int, int]]
FRAME = ("inherit", "spin_arg", "steal_pass", "mask", "gp", "pp", "steal_next", "steal_victim")


def _n(v: int | None) -> int:
    return NONE if v is None else int(v)


def _fill(s: list[int], start: int, cap: int, items: list[int]) -> None:
    if len(items) > cap:
        raise ValueError(f"{len(items)} items do not fit the state vector's {cap} slots")
    s[start : start + cap] = list(items) + [NONE] * (cap - len(items))


class Projection:
    L: Layout
    cfg: Any
    allg: list
    allp: list[P]
    allm: list[M]
    semas: list[Sema]
    sched: Sched

    def sched_age(self, p: int) -> int:
        raise NotImplementedError

    def syscall_age(self, p: int) -> int:
        raise NotImplementedError

    def location(self, mp: M) -> tuple[str, tuple[str, ...]]:
        """Where M mp is: the schedule point it is stopped or parked at (or
        "gone", "thrown"), and the runtime procedures it is in."""
        if mp.state in ("gone", "thrown"):
            return mp.state, ()
        assert mp.at is not None, f"M{mp.id} is {mp.state}, not at a point"
        return mp.at.where, tuple(mp.stack)

    def frame(self, mp: M) -> dict:
        """The locals the M's point exposes, and its callers' it holds on to."""
        if mp.at is None:
            return {}
        return {**mp.held, **mp.at.frame}

    def project(self, locate: Locate) -> bytes:
        L = self.L
        s = L.blank()
        for g in range(L.nG):
            gp = self.allg[g]
            s[L.g_status[g]] = gp.status
            s[L.g_pc[g]] = gp.pc
            s[L.g_preempt[g]] = int(gp.preempt)
        for pp in self.allp:
            self.project_p(s, pp)
        for mp in self.allm:
            self.project_m(s, mp, locate)
        sched = self.sched
        _fill(s, L.grunq, L.nG, list(sched.runq))
        _fill(s, L.pidle, L.nP, sched.pidle)
        _fill(s, L.midle, L.nM, sched.midle)
        s[L.nmspinning] = sched.nmspinning.load()
        s[L.needspinning] = sched.needspinning.load()
        s[L.throw] = sched.throw
        for i, sm in enumerate(self.semas):
            s[L.sema + i] = int(sm.pending)
        return bytes(s)

    def project_p(self, s: list[int], pp: P) -> None:
        L, p = self.L, pp.id
        s[L.p_status[p]] = pp.status.load()
        s[L.schedtick[p]] = pp.schedtick % self.cfg.period
        s[L.sched_age[p]] = self.sched_age(p)
        s[L.sysc_age[p]] = self.syscall_age(p)
        s[L.p_m[p]] = _n(pp.m)
        s[L.runnext[p]] = _n(pp.runq.runnext.load())
        _fill(s, L.runq[p], L.C, pp.runq.items())

    def project_m(self, s: list[int], mp: M, locate: Locate) -> None:
        L, a = self.L, mp.id
        s[L.pc[a]], s[L.ret[a]] = locate(*self.location(mp))
        f = self.frame(mp) if mp.state != "gone" else {}
        s[L.inherit[a]] = int(f.get("inherit", 0))
        s[L.spin_arg[a]] = int(f.get("spin_arg", 0))
        s[L.steal_pass[a]] = f.get("steal_pass", 0)
        s[L.mask[a]] = f.get("mask", 0)
        gp = f.get("gp")
        if gp is None and mp.lockedg is not None and mp.nextp is not None:
            gp = mp.lockedg  # startlockedm handed it the G with the P: in flight
        s[L.gp[a]] = _n(gp)
        s[L.pp[a]] = _n(f.get("pp"))
        s[L.steal_next[a]] = _n(f.get("steal_next"))
        s[L.steal_victim[a]] = _n(f.get("steal_victim"))
        _fill(s, L.batch[a], L.B, f.get("batch", []))
        s[L.spinning[a]] = int(mp.spinning)
        s[L.curg[a]] = _n(mp.curg)
        s[L.m_p[a]] = _n(mp.p)
        s[L.nextp[a]] = _n(mp.nextp)
        s[L.oldp[a]] = _n(mp.oldp)
        s[L.lockedg[a]] = _n(mp.lockedg)
