"""Where an actor (an M, or sysmon) is in the runtime's code.

Each value names the next runtime-atomic step the actor takes; the step
functions in model/ are registered against these. The names follow proc.go.
"""

from __future__ import annotations

from enum import IntEnum


class PC(IntEnum):
    # M lifecycle.
    NOT_CREATED = 0  # the thread does not exist yet (newm has not run for it)
    PARKED = 1  # on sched.midle, asleep on m.park (stopm)
    MSTART = 2  # woken by startm / newly created: acquirep(nextp), then schedule
    THROWN = 3  # the runtime threw on this M; it does nothing more
    # LockOSThread.
    LOCKED_WAIT = 4  # stoplockedm: asleep until an M hands it its locked G and a P
    MEXIT = 5  # its locked G exited: the thread exits once its P is handed off

    # Running user code, and the system calls it makes.
    RUN = 10  # executing curg's next instruction
    IN_SYSCALL = 11  # in a system call; the next step is exitsyscall
    EXITSYSCALL_PIDLE = 12  # exitsyscallfast could not CAS oldp back; try an idle P
    EXITSYSCALL0 = 13  # the slow path: mcall(exitsyscall0) (Go 1.26: exitsyscallNoP)
    # go1.26 profile only (model/go126.py).
    ENTERSYSCALLBLOCK_CAS = 14  # entersyscallblock after handoffp: casgstatus to _Gsyscall
    EXITSYSCALL_OLDP = 15  # exitsyscallTryGetP: setBlockOnExitSyscall(oldp), takeP
    # open world only (model/openworld.py): after the traced status change.
    EXITSYSCALL_NOP_LOCK = 16  # exitsyscallNoP after dropg: lock; pidleget or globrunqput

    # runqput's ring part (the kicked-out runnext), runqputslow.
    RUNQPUT_RING = 20
    RUNQPUTSLOW_GLOBAL = 21
    GOSCHED_LOCK = 22  # open world only: goschedImpl after dropg: lock; globrunqput

    # schedule / findRunnable.
    SCHEDULE = 30  # top of schedule(): findRunnable's schedtick%61 global check
    FR_RUNQGET = 31  # findRunnable: local run queue
    FR_GLOBRUNQ = 32  # findRunnable: global run queue (batch)
    FR_STEAL_CHECK = 33  # findRunnable: the half-of-busy-Ps spinning limit
    FR_BECOME_SPINNING = 34  # mp.becomeSpinning()
    FR_STEAL = 35  # stealWork: one victim per step
    FR_STEAL_RUNNEXT = 46  # runqgrab: CAS the victim's runnext read before usleep(3)
    FR_DROP = 36  # lock; global re-check; needspinning; releasep; pidleput
    FR_SPIN_DOWN = 37  # m.spinning = false; nmspinning--
    FR_RECHECK_GLOBAL = 38  # re-check the global queue after the decrement
    FR_RECHECK_RUNQS = 39  # checkRunqsNoP: one P per step
    FR_RECHECK_PIDLE = 40  # checkRunqsNoP found work: pidlegetSpinning
    FR_RECHECK_ACQUIRE = 41  # acquirep(pp); becomeSpinning()
    STOPM = 42  # lock; mput; then park
    RUNQPUTBATCH = 43  # publish grabbed or stolen extras on the own ring
    EXECUTE = 44  # schedule after findRunnable: resetspinning if spinning
    EXEC = 45  # execute(gp, inheritTime)

    # wakep / startm / handoffp (run by Ms and by sysmon).
    WAKEP_CAS = 50
    WAKEP_PIDLE = 51
    STARTM = 52
    HANDOFFP = 53
    HANDOFFP_SPIN = 54
    HANDOFFP_LOCK = 55
    ALLOCM = 56  # open world (model/openworld.py): newm's allocm borrowed pp; releasep
    # open world only (model/openworld.py): findRunnable's network poll.
    FR_NETPOLL = 57  # findRunnable step r: block in netpoll (lastpoll.Swap(0) != 0) or stopm
    NETPOLL = 58  # blocked in netpoll(delay), no P: the M that cleared sched.lastpoll
    NETPOLL_ACQUIRE = 59  # back from netpoll with a P from pidleget: acquirep(pp)

    # sysmon.
    SYSMON = 60  # sysmon's loop: one retake visit per step


PC_NAMES = {int(p): p.name for p in PC}

# wakep, startm and handoffp: procedures an M calls with m.ret set to where
# they return; sysmon calls startm and handoffp the same way.
PROCEDURES = frozenset(
    {PC.WAKEP_CAS, PC.WAKEP_PIDLE, PC.STARTM, PC.HANDOFFP, PC.HANDOFFP_SPIN, PC.HANDOFFP_LOCK}
)
# The program counters sysmon runs: its loop, and the handoffp/startm it calls.
SYSMON_PCS = frozenset({PC.SYSMON, PC.STARTM, PC.HANDOFFP, PC.HANDOFFP_SPIN, PC.HANDOFFP_LOCK})
