"""The runtime's state in the model's vocabulary: its state vector.

Each object writes its own fields at the model's offsets (model/state.py
Layout), so that the runtime and the model can be compared byte for byte
and through the model's readable view (model/gmp.py `view`). A P's
`sysmon_sched_age` and `sysmon_syscall_age` are what the model calls the
ticks sysmon saw (runtime/sysmon.py). Queues are written head first,
stacks bottom first, padded with NONE, as the model keeps them.
"""

from __future__ import annotations

from model.state import NONE
from runtime.locks import try_lock_all, unlock_all


def _n(v: int | None) -> int:
    return NONE if v is None else v


def _fill(s: list[int], start: int, cap: int, items: list[int]) -> None:
    if len(items) > cap:
        raise ValueError(f"{len(items)} items do not fit the state vector's {cap} slots")
    s[start : start + cap] = list(items) + [NONE] * (cap - len(items))


class Projection:
    """Mixed into the Runtime (runtime/scheduler.py)."""

    def encode_g(self, s: list[int], g: int) -> None:
        L = self.L  # type: ignore[attr-defined]
        gp = self.allg[g]  # type: ignore[attr-defined]
        s[L.g_status[g]] = gp.status
        s[L.g_pc[g]] = gp.pc
        s[L.g_preempt[g]] = int(gp.preempt)

    def encode_p(self, s: list[int], p: int) -> None:
        L = self.L  # type: ignore[attr-defined]
        pp = self.allp[p]  # type: ignore[attr-defined]
        s[L.p_status[p]] = pp.status.load()
        s[L.schedtick[p]] = pp.schedtick % self.cfg.period  # type: ignore[attr-defined]
        s[L.sched_age[p]] = self.sched_age(p)  # type: ignore[attr-defined]
        s[L.sysc_age[p]] = self.syscall_age(p)  # type: ignore[attr-defined]
        s[L.p_m[p]] = _n(pp.m)
        s[L.runnext[p]] = _n(pp.runq.runnext.load())
        _fill(s, L.runq[p], L.C, pp.runq.items())

    def encode_m(self, s: list[int], a: int) -> None:
        L = self.L  # type: ignore[attr-defined]
        mp = self.allm[a]  # type: ignore[attr-defined]
        s[L.pc[a]] = int(mp.pc)
        s[L.ret[a]] = int(mp.ret)
        s[L.inherit[a]] = mp.inherit
        s[L.spinning[a]] = mp.spinning
        s[L.spin_arg[a]] = mp.spin_arg
        s[L.steal_pass[a]] = mp.steal_pass
        s[L.mask[a]] = mp.mask
        s[L.curg[a]] = _n(mp.curg)
        s[L.gp[a]] = _n(mp.gp)
        _fill(s, L.batch[a], L.B, mp.batch)
        s[L.m_p[a]] = _n(mp.p)
        s[L.nextp[a]] = _n(mp.nextp)
        s[L.oldp[a]] = _n(mp.oldp)
        s[L.pp[a]] = _n(mp.pp)
        s[L.steal_next[a]] = _n(mp.steal_next)
        s[L.steal_victim[a]] = _n(mp.steal_victim)
        s[L.lockedg[a]] = _n(mp.lockedg)

    def encode_sched(self, s: list[int]) -> None:
        """sched.lock's part: the global run queue and the idle lists."""
        L = self.L  # type: ignore[attr-defined]
        sched = self.sched  # type: ignore[attr-defined]
        _fill(s, L.grunq, L.nG, list(sched.runq))
        _fill(s, L.pidle, L.nP, sched.pidle)
        _fill(s, L.midle, L.nM, sched.midle)

    def encode_all(self, s: list[int]) -> None:
        """Every field (the caller makes sure nothing changes meanwhile)."""
        L = self.L  # type: ignore[attr-defined]
        sched = self.sched  # type: ignore[attr-defined]
        for g in range(L.nG):
            self.encode_g(s, g)
        for p in range(L.nP):
            self.encode_p(s, p)
        for a in range(L.nA):
            self.encode_m(s, a)
        self.encode_sched(s)
        s[L.nmspinning] = sched.nmspinning.load()
        s[L.needspinning] = sched.needspinning.load()
        s[L.throw] = sched.throw
        for i, sm in enumerate(self.semas):  # type: ignore[attr-defined]
            s[L.sema + i] = sm.pending

    def snapshot(self, timeout: float = 5.0) -> bytes:
        """The whole state, read under every step lock (so no step is half
        done); TimeoutError if some lock stays taken."""
        held = try_lock_all(self.all_units(), timeout)  # type: ignore[attr-defined]
        if held is None:
            raise TimeoutError("a step lock stayed taken: the runtime is stuck")
        try:
            s = self.L.blank()  # type: ignore[attr-defined]
            self.encode_all(s)
            return bytes(s)
        finally:
            unlock_all(held)
