"""Peterson's mutual exclusion for two processes, for the generic engine.

The same algorithm, step for step, as peterson.pml (Promela), so that the
reachable state count can be confirmed with Debian's spin
(tests/test_classic.py). `Peterson(broken=True)` drops the `turn` check,
and mutual exclusion fails.
"""

from __future__ import annotations

from specs.property import INVARIANT, Property

# Each process: 0 flag[i] = 1; 1 turn = 1 - i; 2 await (!flag[1-i] || turn == i);
# 3 incrit++; 4 incrit--; 5 flag[i] = 0; then back to 0.
PC_NAMES = ["flag=1", "turn=other", "await", "incrit++", "incrit--", "flag=0"]


class Peterson:
    name = "peterson"

    def __init__(self, broken: bool = False):
        self.broken = broken

    # state: (pc0, pc1, flag0, flag1, turn, incrit)
    def initial_states(self):
        return [(0, 0, 0, 0, 0, 0)]

    def successors(self, s):
        out = []
        for i in (0, 1):
            pc = s[i]
            t = list(s)
            if pc == 0:
                t[2 + i] = 1
            elif pc == 1:
                t[4] = 1 - i
            elif pc == 2:
                if not (s[2 + (1 - i)] == 0 or s[4] == i or self.broken):
                    continue  # blocked
            elif pc == 3:
                t[5] += 1
            elif pc == 4:
                t[5] -= 1
            elif pc == 5:
                t[2 + i] = 0
            t[i] = (pc + 1) % 6
            out.append((i, f"{PC_NAMES[pc]}(p={i})", tuple(t)))
        return out, False

    def canonical(self, s):
        return s

    def is_final(self, s):
        return False

    def properties(self):
        return [
            Property(
                "mutual-exclusion",
                INVARIANT,
                "at most one process is in the critical section",
                lambda model, s: None if s[5] <= 1 else f"incrit = {s[5]}",
            )
        ]

    def view(self, s):
        return {
            "proc": [{"id": i, "pc": PC_NAMES[s[i]]} for i in (0, 1)],
            "flag": [s[2], s[3]],
            "turn": s[4],
            "incrit": s[5],
        }

    def describe(self):
        return {"workload": "peterson", "broken": self.broken}

    def model_hash(self):
        return "peterson"

    def actor_names(self):
        return ["P0", "P1"]
