"""Symmetry reduction: Ps, Ms and identical goroutines are interchangeable.

Renaming the Ps, the Ms or the goroutines of a state gives a state the
scheduler cannot tell apart: no step refers to a particular id (stealing
and the re-check visit the Ps in any order, new Ms and G's take any free
slot, the idle lists are ordered by position, not by id), and no property
does. So the engine stores one representative per set of renamed states.

`canonical(t)` is a canonical form: every renaming of t gets the same
representative. It orders
  - the Ps by what they hold (their fields, their G's by content, their
    owner M's state, their place on the idle list);
  - then the Ms by what they do (their fields, their G's by content, the
    Ps they name under the P order, their place on the idle list);
  - then the G's by content, and G's with equal content by the first
    place that names them.
Where two Ps (or two Ms) are still tied, every order of the tied ones is
tried and the smallest encoding wins, so ties never make the form depend on
the ids it started with. Tied Ms whose blocks are equal and that nothing
names (threads not created yet) are left in place: any order encodes the
same. Sysmon is not renamed.

Because the form is canonical, a trace can be rebuilt by re-executing the
model from a concrete state and following canonical forms (checker/engine/trace.py).

Speed: the layout groups each block's references by what they name
(model/state.py). A renamed state is read in one `itemgetter` call out of
the concatenation of the state and its translations (G names, P names, M
names, P masks); getters are cached per ordering.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations, product
from operator import itemgetter

from model.pcs import PC
from model.state import NONE, Layout

_IDENTITY = bytes(range(256))
PLAIN, GREF, PREF, MREF, MASK = range(5)
_CACHE_LIMIT = 200_000
PC_NOT_CREATED = int(PC.NOT_CREATED)


_TABS: dict[tuple[int, ...], bytes] = {}
# What the canonical form needs of the G blocks alone (Symmetry._g_view).
GView = tuple[list[bytes], bytes, frozenset[int], list[int]]


def _tab(order: Sequence[int]) -> bytes:
    """Old id -> new id, for an order listing old ids by new position."""
    key = tuple(order)
    tab = _TABS.get(key)
    if tab is None:
        arr = bytearray(_IDENTITY)
        for i, x in enumerate(order):
            arr[x] = i
        tab = _TABS[key] = bytes(arr)
    return tab


def _orders(keys: list[bytes], skip_ties: set[int] | None = None) -> list[list[int]]:
    """Every order of range(len(keys)) sorted by key, ties in every order."""
    idx = sorted(range(len(keys)), key=keys.__getitem__)
    tied = False
    for a, b in zip(idx, idx[1:], strict=False):
        if keys[a] == keys[b]:
            tied = True
            break
    if not tied:
        return [idx]
    groups: list[list[int]] = []
    for i in idx:
        if groups and keys[groups[-1][0]] == keys[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    choices = [
        [g] if len(g) == 1 or (skip_ties and g[0] in skip_ties) else list(permutations(g))
        for g in groups
    ]
    return [[x for part in combo for x in part] for combo in product(*choices)]


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
            for i in range(b + 7, b + 11 + B):  # curg, gp, batch, steal_next, lockedg
                kind[i] = GREF
            for i in range(b + 11 + B, b + 16 + B):  # p, nextp, oldp, pp, steal_victim
                kind[i] = PREF
        for i in range(L.grunq, L.grunq + L.nG):
            kind[i] = GREF
        for i in range(L.pidle, L.pidle + nP):
            kind[i] = PREF
        for i in range(L.midle, L.midle + L.nM):
            kind[i] = MREF
        # A variant's fields (model/extension.py): a sched reference is renamed
        # with what it names; a per-entity field moves with its entity.
        self.extra_mref: list[int] = []
        self.extra_g: list[list[int]] = []
        self.extra_p: list[list[int]] = []
        self.extra_m: list[list[int]] = []
        for f in L.extra_fields:
            at = L.extra[f.name]
            if f.scope == "sched":
                assert isinstance(at, int)  # a sched field has one offset
                kind[at] = {"G": GREF, "P": PREF, "M": MREF}.get(f.kind, PLAIN)
                if f.kind == "M":
                    self.extra_mref.append(at)
            else:
                assert isinstance(at, list)  # a G, P or M field has one per actor
                {"G": self.extra_g, "P": self.extra_p, "M": self.extra_m}[f.scope].append(at)
        self.kind = kind
        self.g_ref_offsets = [i for i in range(L.size) if kind[i] == GREF]
        self._g_refs = itemgetter(*self.g_ref_offsets)
        self.m_start = self.a_start[: L.nM]
        self._no_owner = b"\xff" * (10 + B)
        self._p_id = list(range(nP))
        self._m_id = list(range(L.nM))
        self._g_id = list(range(L.nG))
        self._getters: dict[tuple[tuple[int, ...], ...], itemgetter[object]] = {}
        self._mask_tables: dict[bytes, bytes] = {}
        self._g_views: dict[bytes, GView] = {}

    # ---- renaming ---------------------------------------------------------------

    def _getter(
        self, porder: Sequence[int], morder: Sequence[int], gorder: Sequence[int]
    ) -> itemgetter[object]:
        """Reads the renamed state out of state + G-, P-, M- and mask-translated copies."""
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
        for offs, order in (
            (self.extra_g, gorder),
            (self.extra_p, porder),
            (self.extra_m, morder),
        ):
            for at in offs:
                for i, x in enumerate(order):
                    src[at[i]] = at[x]
        got = itemgetter(*[src[i] + self.kind[src[i]] * L.size for i in range(L.size)])
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

    def rename(
        self, t: bytes, porder: Sequence[int], morder: Sequence[int], gorder: Sequence[int]
    ) -> bytes:
        """The state with P porder[i] renamed i, M morder[i] renamed i, G gorder[i]
        renamed i (sysmon stays)."""
        ptab, mtab, gtab = _tab(porder), _tab(morder), _tab(gorder)
        big = t + t.translate(gtab) + t.translate(ptab) + t.translate(mtab)
        big += t.translate(self._mask_table(ptab))
        return bytes(self._getter(porder, morder, gorder)(big))

    def rename_fields(
        self,
        t: Sequence[int],
        porder: Sequence[int],
        morder: Sequence[int],
        gorder: Sequence[int],
    ) -> list[int]:
        """rename() for a state read field by field (a wide layout's view,
        model/state.py): the renamed fields, as a list."""
        L = self.L
        gmap = {g: i for i, g in enumerate(gorder)}
        pmap = {p: i for i, p in enumerate(porder)}
        mmap = {m: i for i, m in enumerate(morder)}
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
        kind = self.kind
        out = [t[j] for j in src]
        for i, k in enumerate(kind):
            if k == PLAIN:
                continue
            v = out[i]
            if k == GREF:
                out[i] = gmap.get(v, v)
            elif k == PREF:
                out[i] = pmap.get(v, v)
            elif k == MREF:
                out[i] = mmap.get(v, v)
            else:  # MASK
                out[i] = sum(1 << pmap[p] for p in range(L.nP) if v >> p & 1) if v < 256 else v
        return out

    # ---- the canonical form -----------------------------------------------------------

    def canonical(self, t: bytes) -> bytes:
        """The representative of t's renamings (the module's docstring)."""
        L = self.L
        gb, nG = L.g_base, L.nG
        greg = t[gb : gb + 3 * nG]
        for at in self.extra_g:  # a variant's per-G fields are part of a G's content
            greg += t[at[0] : at[0] + nG]
        gview = self._g_views.get(greg)
        if gview is None:
            gview = self._g_view(greg)
        plain_gorder: list[int] | None  # None: G's told apart by where they are named
        gblk, gcls, twins, plain_gorder = gview
        tg = t.translate(gcls)  # only its G-reference fields are read
        mown, pkey = self._owner_and_p_keys(t, tg)
        unborn, born = self._unborn_and_born(t)
        # G's that share their content with another G that some place may name
        # are told apart by where they are first named; others by content alone.
        if twins and not twins.isdisjoint(self._g_refs(t)):
            plain_gorder = None
        return self._smallest(t, mown, pkey, unborn, born, gblk, plain_gorder)

    def _owner_and_p_keys(self, t: bytes, tg: bytes) -> tuple[list[bytes], list[bytes]]:
        """Each M's own state (its fields, its G's by content; the last entry
        stands for no owner), and each P's key: its fields, its G's by
        content, its owner's state, its place on the idle list (255: not on
        it). Fixed width, compared as bytes."""
        L, B, pw = self.L, self.L.B, self.L.P_WIDTH
        mown = [t[b : b + 6] + tg[b + 7 : b + 11 + B] for b in self.m_start]
        if self.extra_m:  # a variant's per-M fields are part of an M's own state
            mown = [own + bytes(t[at[m]] for at in self.extra_m) for m, own in enumerate(mown)]
        mown.append(self._no_owner + b"\xff" * len(self.extra_m))  # mown[-1]: no owner
        pidle = t[L.pidle : L.pidle + L.nP]
        pkey = [
            t[b : b + 4]
            + tg[b + 5 : b + pw]
            + mown[-1 if t[b + 4] == NONE else t[b + 4]]
            + bytes((pidle.find(p) & 0xFF,))
            + bytes(t[at[p]] for at in self.extra_p)
            for p, b in enumerate(self.p_start)
        ]
        return mown, pkey

    def _unborn_and_born(self, t: bytes) -> tuple[list[int], list[int]]:
        """Threads not created yet have equal blocks and nothing names them:
        they come first (pc NOT_CREATED sorts lowest), in any order. The
        rest are ordered by what they do."""
        L = self.L
        named_m = set(t[L.midle : L.midle + L.nM]) | {t[b + 4] for b in self.p_start}
        named_m |= {t[at] for at in self.extra_mref}
        unborn = [
            m
            for m, b in enumerate(self.m_start)
            if t[b] == PC_NOT_CREATED
            and m not in named_m
            and not any(t[at[m]] for at in self.extra_m)
        ]
        return unborn, [m for m in range(L.nM) if m not in unborn]

    def _smallest(
        self,
        t: bytes,
        mown: list[bytes],
        pkey: list[bytes],
        unborn: list[int],
        born: list[int],
        gblk: list[bytes],
        plain_gorder: list[int] | None,
    ) -> bytes:
        """The smallest encoding over every order of the tied Ps and, under
        each, of the tied Ms: the hot loop of the canonical form."""
        L = self.L
        nG, B, a_start = L.nG, L.B, self.a_start
        midle = t[L.midle : L.midle + L.nM]
        best = None
        porders = _orders(pkey)
        for porder in porders:
            ptab = _tab(porder)
            masktab = self._mask_table(ptab)
            mkey = [
                mown[m]
                + t[a_start[m] + 11 + B : a_start[m] + 16 + B].translate(ptab)
                + bytes((masktab[t[a_start[m] + 6]], midle.find(m) & 0xFF))
                for m in born
            ]
            borders = _orders(mkey)
            for bo in borders:
                morder = unborn + [born[i] for i in bo]
                if plain_gorder is None:
                    refs = self._g_refs(self._getter(porder, morder, range(nG))(t * 5))
                    first: dict[int, int] = {}
                    for pos, g in enumerate(refs):
                        if g != NONE and g not in first:
                            first[g] = pos
                    gorder = sorted(range(nG), key=lambda g: (gblk[g], first.get(g, 999)))
                else:
                    gorder = plain_gorder
                if len(porders) == 1 and len(borders) == 1:
                    if gorder == self._g_id and porder == self._p_id and morder == self._m_id:
                        return t  # the only candidate, and already in order
                big = (
                    t
                    + t.translate(_tab(gorder))
                    + t.translate(ptab)
                    + t.translate(_tab(morder))
                    + t.translate(masktab)
                )
                cand = bytes(self._getter(porder, morder, gorder)(big))
                if best is None or cand < best:
                    best = cand
        return best  # type: ignore[return-value]  # one candidate at least

    def _g_view(self, greg: bytes) -> GView:
        """What the canonical form needs of the G blocks alone (cached, as
        few distinct G regions recur across many states): each G's block;
        the translation of a G id to its content class (G's by content only,
        a renaming-blind class for the P and M keys); the G's that share
        their content with another (told apart by where they are named);
        and the G order by content."""
        nG = self.L.nG
        nx = len(self.extra_g)
        gblk = [
            greg[3 * g : 3 * g + 3] + bytes(greg[3 * nG + k * nG + g] for k in range(nx))
            for g in range(nG)
        ]
        distinct = sorted(set(gblk))
        rank = {b: i for i, b in enumerate(distinct)}
        gcls = bytearray(_IDENTITY)
        for g in range(nG):
            gcls[g] = rank[gblk[g]]
        twins = frozenset(g for g in range(nG) if gblk.count(gblk[g]) > 1)
        view = (gblk, bytes(gcls), twins, sorted(range(nG), key=gblk.__getitem__))
        if len(self._g_views) > _CACHE_LIMIT:
            self._g_views.clear()
        self._g_views[greg] = view
        return view
