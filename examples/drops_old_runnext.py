"""A variant of the scheduler for `--model examples/drops_old_runnext.py:DropsOldRunnext`
(README, Checking a variant of your own)."""

from model.gmp import GMPModel
from model.pcs import PC


class DropsOldRunnext(GMPModel):
    """runqput(next=true) overwrites runnext without kicking the old G out to the ring."""

    mutation_name = "drops-old-runnext"

    def runqput_next(self, s, m, p, g):
        s[self.L.runnext[p]] = g  # P p's runnext slot := G g (the old one is forgotten)
        self.call(s, m, PC.WAKEP_CAS, PC.RUN)  # then wakep, then back to the G's code
