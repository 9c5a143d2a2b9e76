"""The conformance search's states described as the trace names things:
goroutines, procs and threads by their trace ids (checker/golang/search.py
uses this for the states it reports before an event it cannot explain)."""

from __future__ import annotations

from checker.golang.canon import CanonicalNodes, Node
from checker.golang.projection import G_NAMES, P_NAMES
from model.pcs import PC, PC_NAMES
from model.state import NONE, q_items


class Describing(CanonicalNodes):
    """describe() and observed() of a search (checker/golang/search.py
    Search): its model, view, projection, goroutine slots and bindings."""

    def describe(self, node: Node) -> str:
        """One model state, with goroutines, procs and threads as the trace names them."""
        t, mb, pb, _ = node
        t = self.view(t)
        L = self.model.L
        gname = {slot: g for g, slot in self.gslot.items()}

        def G(s: int) -> str:
            return f"G{gname.get(s, '?' + str(s))}" if s != NONE else "-"

        def P(q: int) -> str:
            return f"P{pb[q]}" if pb[q] != -1 else f"P(unused {q})"

        def M(a: int) -> str:
            if a == L.SYSMON:
                return "sysmon"
            return f"M{self.prep.threads[mb[a]]}" if mb[a] != -1 else f"M(model {a})"

        parts = []
        for q in range(L.nP):
            st = t[L.p_status[q]]
            owner = t[L.p_m[q]]
            queue = [G(g) for g in q_items(t, L.runq[q], L.C)]
            desc = f"{P(q)} {'idle' if st == 0 else 'running'}"
            if owner != NONE:
                desc += f" on {M(owner)}"
            if t[L.runnext[q]] != NONE:
                desc += f" runnext={G(t[L.runnext[q]])}"
            if queue:
                desc += f" runq=[{' '.join(queue)}]"
            parts.append(desc)
        gq = [G(g) for g in q_items(t, L.grunq, L.nG)]
        if gq:
            parts.append(f"global runq=[{' '.join(gq)}]")
        for a in range(L.nM):
            pc = t[L.pc[a]]
            if pc in (PC.PARKED, PC.NOT_CREATED) and mb[a] == -1:
                continue
            desc = f"{M(a)} at {PC_NAMES[pc]}"
            if t[L.curg[a]] != NONE:
                desc += f" curg={G(t[L.curg[a]])}"
            if t[L.spinning[a]]:
                desc += " spinning"
            parts.append(desc)
        parked = sum(1 for a in range(L.nM) if t[L.pc[a]] == PC.PARKED)
        parts.append(
            f"{parked} Ms parked, nmspinning={t[L.nmspinning]}, needspinning={t[L.needspinning]}"
        )
        limbo = [G(g) for g in range(L.nG) if self.model.in_limbo(t, g)]
        if limbo:
            parts.append(f"runnable since before the trace: {' '.join(limbo)}")
        return "; ".join(parts)

    def observed(self, node: Node) -> str:
        """The projection of a state: what the trace can see."""
        t, mb, pb, _ = node
        al = self.alpha(t)
        gname = {slot: g for g, slot in self.gslot.items()}
        out = []
        for s in sorted(gname, key=gname.__getitem__):
            st = al[self.proj.g_at(s)]
            if st != 0:
                out.append(f"G{gname[s]} {G_NAMES[st]}")
        for q in range(self.prep.procs):
            st = al[self.proj.p_at(q)]
            name = f"P{pb[q]}" if pb[q] != -1 else f"P(unused {q})"
            out.append(f"{name} {P_NAMES[st]}")
        return ", ".join(out)
