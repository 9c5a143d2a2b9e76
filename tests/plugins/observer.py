"""Variants for the tests of plug-in state fields (tests/test_plugins.py):
Go's scheduler with fields that record what it did, of every kind a
variant may add. They change no step's effect on the model's own fields,
so every property holds as for Go's scheduler.

ObserverSched: fields in sched only (a count, a flag, a G, a P, an M, one
of them naming a thread not created yet). Observer: those, and per-G,
per-P and per-M fields.
"""

from model.extension import StateField
from model.gmp import GMPModel
from model.pcs import PC
from model.state import NONE


class ObserverSched(GMPModel):
    """Records the last G readied or spawned, the last P put on the idle list,
    the last M parked and the next thread newm would create, how many
    wakeups (up to 3) and whether a steal happened."""

    mutation_name = "observer-sched"
    state_fields = (
        StateField("wakeups", kind="count", limit=3),
        StateField("stole", kind="flag"),
        StateField("last_g", kind="G"),
        StateField("last_idle_p", kind="P"),
        StateField("last_parked_m", kind="M"),
        StateField("spare_m", kind="M"),
    )

    def runqput_next(self, s, m, p, g):
        s[self.field("last_g")] = g
        super().runqput_next(s, m, p, g)

    def pidleput(self, s, p):
        s[self.field("last_idle_p")] = p
        super().pidleput(s, p)

    def stopm(self, s, m, c):
        label = super().stopm(s, m, c)
        s[self.field("last_parked_m")] = m
        s[self.field("spare_m")] = self.newm_slot(s)
        return label + " (recorded)"

    def wakep_cas(self, s, a, c):
        label = super().wakep_cas(s, a, c)
        if s[self.L.pc[a]] == PC.WAKEP_PIDLE:
            s[self.field("wakeups")] = min(3, s[self.field("wakeups")] + 1)
            label += " (counted)"
        return label

    def findRunnable_steal(self, s, m, victim):
        label = super().findRunnable_steal(s, m, victim)
        if s[self.L.gp[m]] != NONE:
            s[self.field("stole")] = 1
        return label


class Observer(ObserverSched):
    """ObserverSched, and per entity: each G whether it was ever stolen, each
    P how many times (up to 2) it was handed off, each M whether it spun."""

    mutation_name = "observer"
    state_fields = (
        StateField("stolen", scope="G", kind="flag"),
        StateField("handoffs", scope="P", kind="count", limit=2),
        StateField("spun", scope="M", kind="flag"),
    )

    def findRunnable_steal(self, s, m, victim):
        label = super().findRunnable_steal(s, m, victim)
        g = s[self.L.gp[m]]
        if g != NONE:
            s[self.field("stolen")[g]] = 1
        return label

    def handoffp(self, s, a, c):
        label = super().handoffp(s, a, c)
        p = s[self.L.pp[a]]
        at = self.field("handoffs")[p]
        s[at] = min(2, s[at] + 1)
        return label + " (counted)"

    def becomeSpinning(self, s, m):
        super().becomeSpinning(s, m)
        s[self.field("spun")[m]] = 1
