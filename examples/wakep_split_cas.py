"""A bug that adds a step, a program counter and a state field: wakep's CAS
of nmspinning done as a load and a later store.

Go's wakep does `if sched.nmspinning.Load() != 0 ||
!sched.nmspinning.CompareAndSwap(0, 1) { return }`: one atomic decides
that this M, and no other, wakes a spinning M. Here the decision is a load
(WAKEP_CAS, as before), remembered in a per-M flag `cas_pending` ("I read
0"), and the store of 0 + 1 is a step of its own (WAKEP_STORE, new): two Ms
can both load 0 and both store 1, and two spinning Ms are woken while
nmspinning counts one (spinning-accounting, spinning-policy).

The new program counter is named in traces, views and the coverage table;
the new field `cas_pending` shows under each M. Symmetry reduction renames it
with its M; the compiled kernel's canonical form does not rename per-M
fields, so with symmetry this plug-in runs on the Python steps (the summary
says so) and `--no-symmetry` compiles it.

    python -m checker --model examples/wakep_split_cas.py:WakepSplitCas --cores 2 --depth 12
    python -m checker replay reports/spinning-accounting-mixed-c2-wakep-split-cas.itf.json
"""

from model.action import Action
from model.extension import StateField
from model.gmp import GMPModel
from model.machine import step
from model.pcs import PC

WAKEP_STORE = 70


class WakepSplitCas(GMPModel):
    """wakep loads nmspinning in one step and stores it plus one in the next."""

    mutation_name = "wakep-split-cas"
    program_counters = {"WAKEP_STORE": WAKEP_STORE}
    state_fields = (
        StateField("cas_pending", scope="M", kind="flag", doc="wakep read nmspinning == 0"),
    )

    def wakep_cas(self, s, a, c):
        L = self.L
        n = s[L.nmspinning]
        if n != 0:
            self.ret(s, a)
            return Action("wakep", m=a, nmspinning=n).flag("no")
        s[self.field("cas_pending")[a]] = 1
        s[L.pc[a]] = WAKEP_STORE
        # A new action for what the override does instead of the CAS.
        return Action("wakep.load", m=a, nmspinning=n)

    @step(WAKEP_STORE)
    def wakep_store(self, s, a, c):
        """The second half of the split CAS: nmspinning = 0 + 1, the value it
        read plus one, whatever another M stored meanwhile."""
        L = self.L
        s[self.field("cas_pending")[a]] = 0
        s[L.nmspinning] = 1
        s[L.pc[a]] = PC.WAKEP_PIDLE
        return Action("wakep.store", m=a, nmspinning=1)
