"""A workload for `--model examples/handoff_workload.py:Handoff` (README, Checking a
variant of your own)."""

from model.workloads import Workload

# main spawns a helper and wakes it; the helper waits for the wakeup, then both exit.
Handoff = Workload(
    name="handoff",
    description="main spawns a helper and wakes it through a semaphore",
    programs={
        "main": ["go helper", "ready work", "exit"],
        "helper": ["park work", "syscall", "exit"],
    },
)
