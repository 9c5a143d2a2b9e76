"""A bug that needs its own workload: runqputslow drops the kicked-out G.

runqput(pp, gp, next=true) puts a new goroutine in runnext and kicks the
old runnext out to the ring's tail; when the ring is full, runqputslow
moves half of the ring and the kicked-out G to the global queue. Here it
moves the half and forgets the G: a goroutine is lost (no-lost-g).

Only a burst of four `go` statements in a row on one P fills runnext and a
ring of 2 and then kicks one more out: none of the shipped workloads but
spawn-overflow does that, so the plug-in brings its own program.

    python -m checker --model examples/overflow_drops_kicked.py:OverflowDropsKicked \\
        --cores 1 --depth 16
    python -m checker replay reports/no-lost-g-burst4-c1-overflow-drops-kicked.itf.json
"""

from model.gmp import GMPModel
from model.pcs import PC
from model.workloads import Workload

BURST4 = Workload(
    name="burst4",
    description="main spawns four short goroutines in a row on its P: the fourth kicks a G "
    "out of runnext into a full ring of 2 (runqputslow)",
    programs={
        "main": ["go worker", "go worker", "go worker", "go worker"],
        "worker": ["compute", "exit"],
    },
)


class OverflowDropsKicked(GMPModel):
    """runqputslow moves half the ring to the global queue but not the G
    that runqput kicked out of runnext."""

    mutation_name = "overflow-drops-kicked"
    plugin_workload = BURST4

    def runqput_ring(self, s, m, c):
        label = super().runqput_ring(s, m, c)
        if s[self.L.pc[m]] == PC.RUNQPUTSLOW_GLOBAL:
            batch = self.batch_of(s, m)
            self.set_batch(s, m, batch[:-1])  # the kicked-out G is the batch's last
            # The label says what the override did: the base step's label
            # alone would claim the whole batch moves.
            label = label.after(f" (drops G{batch[-1]})")
        return label
