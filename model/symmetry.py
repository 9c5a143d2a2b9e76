"""Symmetry reduction: Ps, Ms and identical goroutines are interchangeable.

Renaming the Ps (or the Ms, or two goroutines of the same program at the
same instruction) of a state gives a state the scheduler cannot tell apart:
no step refers to a particular id (stealing and the re-check visit the Ps
in any order, new Ms and G's take any free slot, the idle lists are ordered
by position, not by id). So the engine stores one representative per set
of renamed states.

`canonical(t)` orders the G's by content, the Ps by what they hold, the Ms
by what they do, and renames every reference to match. Ties are broken by
the current ids, so two renamings of one state can still get two
representatives: that costs reduction, never soundness, because a
representative is always a renaming of the state it stands for and the
properties do not depend on names. Sysmon is not renamed.

Speed: the layout groups each block's references by what they name
(model/state.py). The renamed state is read in one `itemgetter` call out
of the concatenation of the state and its translations (G names, P names,
M names, P masks), with one getter per ordering, cached.
"""

from __future__ import annotations

from operator import itemgetter

from model.state import NONE, Layout

_IDENTITY = bytes(range(256))
PLAIN, GREF, PREF, MREF, MASK = range(5)
_CACHE_LIMIT = 200_000


class Symmetry:
    def __init__(self, L: Layout):
        self.L = L
        nP, nA, pw, aw, B = L.nP, L.nA, L.P_WIDTH, L.A_WIDTH, L.B
        self.p_start = [L.p_base + pw * p for p in range(nP)]
        self.a_start = [L.a_base + aw * a for a in range(nA)]
        kind = [PLAIN] * L.size
        for b in self.p_start:
            kind[b + 4] = MREF
            for i in range(b + 5, b + pw):
                kind[i] = GREF
        for b in self.a_start:
            kind[b + 6] = MASK
            for i in range(b + 7, b + 9 + B):
                kind[i] = GREF
            for i in range(b + 9 + B, b + 13 + B):
                kind[i] = PREF
        for i in range(L.grunq, L.grunq + L.nG):
            kind[i] = GREF
        for i in range(L.pidle, L.pidle + nP):
            kind[i] = PREF
        for i in range(L.midle, L.midle + L.nM):
            kind[i] = MREF
        self.kind = kind
        self.g_ref_offsets = [i for i in range(L.size) if kind[i] == GREF]
        self._getters: dict[tuple, itemgetter] = {}
        self._mask_tables: dict[bytes, bytes] = {}

    def _getter(self, porder: list[int], morder: list[int], gorder: list[int]) -> itemgetter:
        """The itemgetter that reads the renamed state out of
        state + G-translated + P-translated + M-translated + mask-translated."""
        key = (tuple(porder), tuple(morder), tuple(gorder))
        got = self._getters.get(key)
        if got is not None:
            return got
        L = self.L
        if len(self._getters) > _CACHE_LIMIT:
            self._getters.clear()
        src = list(range(L.size))
        for i, g in enumerate(gorder):
            for k in range(3):
                src[L.g_base + 3 * i + k] = L.g_base + 3 * g + k
        for i, p in enumerate(porder):
            for k in range(L.P_WIDTH):
                src[self.p_start[i] + k] = self.p_start[p] + k
        for i, m in enumerate(morder):
            for k in range(L.A_WIDTH):
                src[self.a_start[i] + k] = self.a_start[m] + k
        idx = [src[i] + self.kind[src[i]] * L.size for i in range(L.size)]
        got = itemgetter(*idx)
        self._getters[key] = got
        return got

    def _mask_table(self, ptab: bytes) -> bytes:
        key = ptab[: self.L.nP]
        tab = self._mask_tables.get(key)
        if tab is None:
            nP = self.L.nP
            tab = bytes(
                sum(1 << ptab[p] for p in range(nP) if mask >> p & 1) if mask < (1 << nP) else mask
                for mask in range(256)
            )
            self._mask_tables[key] = tab
        return tab

    def canonical(self, t: bytes) -> bytes:
        L = self.L
        nP, nM, nG, pw = L.nP, L.nM, L.nG, L.P_WIDTH
        B = L.B
        gb = L.g_base

        # G's by content (status, instruction, preempt).
        gblk = [t[gb + 3 * g : gb + 3 * g + 3] for g in range(nG)]
        gorder = sorted(range(nG), key=gblk.__getitem__)
        gtab = bytearray(_IDENTITY)
        for i, g in enumerate(gorder):
            gtab[g] = i
        gtab = bytes(gtab)

        # Ps by their fields, their G's (renamed) and their owner's state.
        a_start, p_start = self.a_start, self.p_start
        pidle = t[L.pidle : L.pidle + nP]
        pkey = []
        for p in range(nP):
            b = p_start[p]
            owner = t[b + 4]
            mb = a_start[owner] if owner != NONE else 0
            pkey.append(
                (
                    t[b : b + 4] + t[b + 5 : b + pw].translate(gtab),
                    t[mb : mb + 6] if owner != NONE else b"",
                    pidle.find(p),
                    p,
                )
            )
        porder = sorted(range(nP), key=pkey.__getitem__)
        ptab = bytearray(_IDENTITY)
        for i, p in enumerate(porder):
            ptab[p] = i
        ptab = bytes(ptab)

        # Ms by what they do, the G's they hold and the Ps they name (renamed).
        midle = t[L.midle : L.midle + nM]
        mkey = []
        for m in range(nM):
            b = a_start[m]
            mkey.append(
                (
                    t[b : b + 6]
                    + t[b + 7 : b + 9 + B].translate(gtab)
                    + t[b + 9 + B : b + 13 + B].translate(ptab),
                    midle.find(m),
                    m,
                )
            )
        morder = sorted(range(nM), key=mkey.__getitem__)
        identity = gorder == sorted(gorder) and porder == sorted(porder)
        if identity and morder == sorted(morder):
            return t
        mtab = bytearray(_IDENTITY)
        for i, m in enumerate(morder):
            mtab[m] = i
        mtab = bytes(mtab)
        masktab = self._mask_table(ptab)
        big = t + t.translate(gtab) + t.translate(ptab) + t.translate(mtab) + t.translate(masktab)
        return bytes(self._getter(porder, morder, gorder)(big))
