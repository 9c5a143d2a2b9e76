"""A goroutine's body: its workload program, run as a generator.

The generator stops before every instruction (each is a safe point: the
scheduler may act there) and yields the instruction's pc; resuming it runs
that instruction's user code (`compute` and `spin` do some arithmetic) and
the control flow to the next instruction, whose pc it yields. Everything
the scheduler does for an instruction (newproc for `go`, gopark for `park`,
entersyscall...) is done by the M, in runtime/user.py: the
generator is the user code only.
"""

from __future__ import annotations

from collections.abc import Generator

from model.workloads import Code, Op

_WORK = 16  # multiply-adds per compute instruction: a little real user code


def program(code: Code, pc: int) -> Generator[int, None, None]:
    acc = pc
    while True:
        yield pc
        op = code.ops[pc]
        if op == Op.COMPUTE or op == Op.SPIN:
            for i in range(_WORK):
                acc = (acc * 31 + i) & 0xFFFF
        pc = code.nextpc[pc]
