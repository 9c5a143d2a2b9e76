"""The conformance search's nodes in canonical form: a model state with the
binding of model Ms and Ps to the trace's threads and procs, renamed so
that interchangeable Ms and Ps are one node (checker/golang/search.py)."""

from __future__ import annotations

from collections.abc import Callable

from checker.golang.prepare import PROFILE, Prepared
from checker.golang.projection import Projection
from model.openworld import open_model
from model.pcs import PC
from model.symmetry import Symmetry

# A search node: the model state, the Ms' and the Ps' bindings to the trace's
# threads and procs, and the trace threads seen so far.
Node = tuple[bytes, tuple[int, ...], tuple[int, ...], frozenset[int]]


class CanonicalNodes:
    """The open-world model sized to the trace, and its nodes renamed to one
    canonical form per class of interchangeable Ms and Ps."""

    def __init__(self, prep: Prepared, max_states: int = 200_000, model_class: type | None = None):
        self.prep = prep
        self.model = open_model(
            PROFILE, prep.procs, len(prep.threads) + 2, prep.slots, model_class=model_class
        )
        self.proj = Projection(self.model)
        self.max_states = max_states
        self.gslot = dict(prep.gslot)
        self.mindex = {m: i for i, m in enumerate(prep.threads)}
        L = self.model.L
        self.SYSMON = L.SYSMON
        self._pc_off = L.pc
        self.parked = int(PC.PARKED)
        # An M whose thread the trace no longer follows: parked (parked Ms
        # are interchangeable) or gone (mexit).
        self._gone = (int(PC.PARKED), int(PC.NOT_CREATED))
        self._alpha: dict[bytes, tuple[int, ...]] = {}
        self.expansions = 0
        self.peak_closure = 0
        # progress(event index, events): told every few events (a progress line)
        self.progress: Callable[[int, int], None] | None = None
        self._sym = Symmetry(L)
        self._ids_p, self._ids_g = list(range(L.nP)), list(range(L.nG))
        self._ids_m = list(range(L.nM))
        self._m_blocks = [(L.pc[a], L.pc[a] + L.A_WIDTH) for a in range(L.nM)]
        self._canon: dict[tuple, tuple[bytes, tuple[int, ...]]] = {}
        self.view = self.model.view

    def canon(self, t: bytes, mb: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:
        """The node's state and M bindings with the model's Ms renamed into a
        canonical order: Ms bound to a trace thread by that thread, then the
        unbound ones by their block and their place on the idle list. Model
        M ids mean nothing (no step names a particular M; newm takes any
        free slot, the idle list is ordered by position), so two nodes that
        differ by a renaming of Ms, bindings renamed alike, have the same
        futures; unbound Ms with equal blocks that nothing names are
        interchangeable, in any order."""
        key = (t, mb)
        got = self._canon.get(key)
        if got is None:
            if len(self._canon) > 500_000:
                self._canon.clear()
            got = self._canon[key] = self._canonical(t, mb)
        return got

    def _canonical(self, t: bytes, mb: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:
        L = self.model.L
        nM = L.nM
        blocks = self._m_blocks
        v = self.view(t)
        midle = list(v[L.midle : L.midle + nM])

        def key(a: int) -> bytes:
            lo, hi = blocks[a]
            seg = bytes(v[lo:hi])  # a wide view's fields as their two bytes each
            return seg + bytes((midle.index(a) if a in midle else 255,))

        # The usual case: already in order (bound Ms by thread, then the
        # unbound ones by key), checked without building every key.
        prev, first_unbound = -1, nM
        for a in range(nM):
            x = mb[a]
            if x < 0:
                if first_unbound == nM:
                    first_unbound = a
            elif first_unbound < nM or x < prev:
                break
            else:
                prev = x
        else:
            last = b""
            for a in range(first_unbound, nM):
                k = key(a)
                if k < last:
                    break
                last = k
            else:
                return t, mb
        keys = [(x, b"") if x >= 0 else (1 << 20, key(a)) for a, x in enumerate(mb[:nM])]
        order = sorted(self._ids_m, key=keys.__getitem__)
        if order == self._ids_m:
            return t, mb
        u = self._rename(t, self._ids_p, order)
        return u, tuple(mb[a] for a in order) + mb[nM:]

    def _rename(self, t: bytes, porder: list[int], morder: list[int]) -> bytes:
        if not self.model.L.wide:
            return self._sym.rename(t, porder, morder, self._ids_g)
        fields = self._sym.rename_fields(self.view(t), porder, morder, self._ids_g)
        return self.model.freeze(fields)

    def canon_p(self, t: bytes, pb: tuple[int, ...]) -> tuple[bytes, tuple[int, ...]]:
        """The state with the model's Ps renamed so that those bound to a
        trace proc come first, in the order of the trace's proc ids (allp's
        order, which checkRunqsNoP walks: model/openworld.py), the unbound
        ones after them in their order. Like M ids, model P ids mean
        nothing: no step names a particular P."""
        order = sorted(self._ids_p, key=lambda q: (pb[q] < 0, pb[q], q))
        if order == self._ids_p:
            return t, pb
        u = self._rename(t, order, self._ids_m)
        return u, tuple(pb[q] for q in order)

    def alpha(self, t: bytes) -> tuple[int, ...]:
        a = self._alpha.get(t)
        if a is None:
            if len(self._alpha) > 500_000:
                self._alpha.clear()
            a = self._alpha[t] = self.proj.alpha(t)
        return a

    def initial(self) -> list[Node]:
        """The states the trace's start allows (model/openworld.py initial_states)."""
        out: dict[Node, None] = {}
        for t in self.model.initial_states(self.prep.snapshot):
            u, pb = self.canon_p(t, self.prep.pbind)
            u, mb = self.canon(u, self.prep.mbind)
            out[(u, mb, pb, frozenset())] = None
        return list(out)
