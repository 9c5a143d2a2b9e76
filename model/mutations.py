"""Mutations: named, documented changes to one step of the scheduler that
reproduce a real or plausible bug, and benign variants that must not be
reported.

Each entry is a subclass of GMPModel that overrides the step (or the data
operation) it changes, plus what it must violate and the configuration at
which the checker is expected to catch it (tests/test_mutations.py runs
exactly that). `--mutation NAME` selects one; `--model FILE:NAME` loads a
class or a Mutation of your own (checker/plugin.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.action import Action
from model.config import PROFILES
from model.gmp import GMPModel
from model.pcs import PC
from model.state import G_SYSCALL, NONE, P_SYSCALL, q_items, q_len, q_pop_head, q_remove


@dataclass(frozen=True)
class Mutation:
    name: str
    model: type[GMPModel]
    summary: str
    history: str
    violates: tuple[str, ...]  # the first is the property it must violate
    # The configuration at which the checker catches it (or, for a benign
    # variant, passes it): Config fields plus "depth".
    check_at: dict[str, Any] = field(default_factory=dict)
    benign: bool = False
    config: dict[str, Any] = field(default_factory=dict)  # Config fields the variant sets
    # The profiles whose steps it changes (model/go126.py replaces the syscall path).
    profiles: tuple[str, ...] = PROFILES
    # Where Go's own scheduler fails the same property at check_at too: why.
    go_also_violates: str = ""
    # A second consequence of the same bug, seen at another configuration
    # (a safety bug that also breaks a liveness property, say): the
    # properties it violates there, and that configuration.
    also_violates: tuple[str, ...] = ()
    also_at: dict[str, Any] = field(default_factory=dict)
    # The same bug in the reference runtime, a second implementation: the
    # name of its class in runtime/mutations.py (named, not imported: the
    # model imports nothing of the runtime). Empty: the model class's name.
    runtime: str = ""

    @property
    def runtime_override(self) -> str:
        return self.runtime or self.model.__name__

    def check_args(self) -> list[str]:
        """The command-line arguments of check_at: `python -m checker` + these
        checks the mutation where its test does."""
        return ["--mutation", self.name, *config_args(self.check_at)]

    def checks(self) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
        """Every (properties it violates, configuration) the registry claims."""
        out = [(self.violates, self.check_at)]
        if self.also_violates:
            out.append((self.also_violates, self.also_at))
        return out


def config_args(cfg: dict[str, Any]) -> list[str]:
    """Config fields (and "depth") as `python -m checker` arguments."""
    out = []
    for key, value in cfg.items():
        if key == "async_preempt":
            if not value:
                out.append("--no-async-preempt")
            continue
        out += [f"--{key.replace('_', '-')}", str(value)]
    return out


# ---- bugs -----------------------------------------------------------------------


class RecheckBeforeDecrement(GMPModel):
    """The spinning M re-checks the run queues *before* it decrements
    nmspinning (the StoreLoad order of the spinning -> non-spinning
    transition reversed). A submitter that enqueues after the re-check and
    reads nmspinning before the decrement sees a spinning M and wakes
    nobody; the M then decrements and parks: the work waits with a P idle.
    """

    mutation_name = "recheck-before-decrement"

    def findRunnable_drop(self, s: list[int], m: int, c: None) -> Action:
        label = super().findRunnable_drop(s, m, c)
        if s[self.L.pc[m]] == PC.FR_SPIN_DOWN:
            s[self.L.pc[m]] = PC.FR_RECHECK_GLOBAL  # re-check while still counted
        return label

    def findRunnable_spin_down(self, s: list[int], m: int, c: None) -> Action:
        label = super().findRunnable_spin_down(s, m, c)
        if s[self.L.pc[m]] == PC.FR_RECHECK_GLOBAL:
            s[self.L.pc[m]] = PC.STOPM  # the re-checks are already done
        return label

    def _then_spin_down(self, s: list[int], m: int) -> None:
        if s[self.L.pc[m]] == PC.STOPM and s[self.L.spinning[m]]:
            s[self.L.pc[m]] = PC.FR_SPIN_DOWN

    def findRunnable_recheck_runqs(self, s: list[int], m: int, p: int) -> Action:
        label = super().findRunnable_recheck_runqs(s, m, p)
        self._then_spin_down(s, m)
        return label

    def findRunnable_recheck_pidle(self, s: list[int], m: int, c: None) -> Action:
        label = super().findRunnable_recheck_pidle(s, m, c)
        self._then_spin_down(s, m)
        return label

    def becomeSpinning(self, s: list[int], m: int) -> None:
        if not s[self.L.spinning[m]]:  # found work while still spinning: already counted
            super().becomeSpinning(s, m)


class NoNeedspinning(GMPModel):
    """pidlegetSpinning without `sched.needspinning = 1`: a spinning M that
    finds work after dropping its P but no idle P for it gives up, while
    the Ms holding the Ps drop them without re-checking (only spinning Ms
    re-check since CL 310850, golang/go#43997). The Ps go idle with work
    queued."""

    mutation_name = "no-needspinning"

    def pidlegetSpinning(self, s: list[int]) -> int:
        return self.pidleget(s)


class ResetspinningNoWakep(GMPModel):
    """resetspinning without its wakep(): the last spinning M that finds
    work stops spinning and wakes nobody, although submitters skipped their
    wakeups while it was spinning."""

    mutation_name = "resetspinning-no-wakep"

    def schedule_execute(self, s: list[int], m: int, c: None) -> Action:
        L = self.L
        if s[L.spinning[m]]:
            s[L.spinning[m]] = 0
            if not self.nmspinning_dec(s, m):
                return Action("resetspinning", m=m).throws()
            s[L.pc[m]] = PC.EXEC
            return Action("resetspinning", m=m).flag("no wakep")
        return super().schedule_execute(s, m, c)


class StealNotAtomic(GMPModel):
    """runqgrab copies half of the victim's ring but never moves the
    victim's runqhead (the CasRel that commits the steal is lost): the
    victim still runs the G's the thief took."""

    mutation_name = "steal-not-atomic"

    def runqgrab(self, s: list[int], victim: int) -> list[int]:
        ring = q_items(s, self.L.runq[victim], self.L.C)
        n = len(ring) - len(ring) // 2
        return ring[:n]


class ExitsyscallDropsG(GMPModel):
    """exitsyscall0 finds no idle P and forgets globrunqput(gp): the G is
    _Grunnable on no queue, and the M parks."""

    mutation_name = "exitsyscall-drops-g"

    def exitsyscall0(self, s: list[int], m: int, c: None) -> Action:
        L = self.L
        g = s[L.curg[m]]
        label = super().exitsyscall0(s, m, c)
        if s[L.pc[m]] == PC.STOPM:  # no idle P: the G went to the global queue...
            q_remove(s, L.grunq, L.nG, g)  # ...and here it does not
            label = label.after(" (the G is not queued)")
        return label


class HandoffpIgnoresGlobalQueue(GMPModel):
    """handoffp looks only at the P's own run queue, not the global one, and
    idles the P: the golang/go#13645 class ("handoffp must start an M in any
    situation where findRunnable would return a G to run on pp")."""

    mutation_name = "handoffp-ignores-global-queue"

    def handoffp(self, s: list[int], a: int, c: None) -> Action:
        L = self.L
        p = s[L.pp[a]]
        if not self.runqempty(s, p):
            s[L.spin_arg[a]] = 0
            s[L.pc[a]] = PC.STARTM
            return self.call_by(a, "handoffp", p=p).flag("work")
        s[L.pc[a]] = PC.HANDOFFP_SPIN
        return self.call_by(a, "handoffp", p=p).flag("no local work")

    def handoffp_lock(self, s: list[int], a: int, c: None) -> Action:
        L = self.L
        p = s[L.pp[a]]
        if self.npidle(s) == L.nP - 1:
            s[L.spin_arg[a]] = 0
            s[L.pc[a]] = PC.STARTM
            return self.call_by(a, "handoffp.lock", p=p).flag("last P")
        self.pidleput(s, p)
        s[L.pp[a]] = NONE
        self.ret(s, a)
        return self.call_by(a, "handoffp.pidleput", p=p)


class Exitsyscall0SkipsCasgstatus(GMPModel):
    """exitsyscall0 queues the G without casgstatus(_Gsyscall, _Grunnable):
    it sits on the global queue still _Gsyscall, and the M that picks it up
    finds it in the wrong status (casgstatus throws in execute)."""

    mutation_name = "exitsyscall0-skips-casgstatus"

    def exitsyscall0(self, s: list[int], m: int, c: None) -> Action:
        L = self.L
        g = s[L.curg[m]]
        label = super().exitsyscall0(s, m, c)
        s[L.g_status[g]] = G_SYSCALL  # the status change that did not happen
        return label.after(" (still _Gsyscall)")


class ExitsyscallNoCas(GMPModel):
    """exitsyscallfast re-wires its old P without checking that it is still
    _Psyscall (no CAS): if sysmon took it meanwhile and handed it to another
    M, two Ms now own one P — the ABA hazard the CAS and the syscalltick
    comparison exist for."""

    mutation_name = "exitsyscall-no-cas"

    def exitsyscall(self, s: list[int], m: int, c: None) -> Action:
        L = self.L
        oldp = s[L.oldp[m]]
        if oldp != NONE and s[L.p_status[oldp]] != P_SYSCALL:
            s[L.p_status[oldp]] = P_SYSCALL  # it takes the P whatever its state
        return super().exitsyscall(s, m, c)


class WakepLeaksNmspinning(GMPModel):
    """wakep finds no idle P and returns without undoing its CAS of
    nmspinning: the count stays at 1 with nobody spinning, and every later
    wakep believes a spinning M exists."""

    mutation_name = "wakep-leaks-nmspinning"

    def nmspinning_dec(self, s: list[int], a: int) -> bool:
        if s[self.L.pc[a]] == PC.WAKEP_PIDLE:
            return True  # the forgotten nmspinning.Add(-1)
        return super().nmspinning_dec(s, a)


class RetakeNoIncidlelocked(GMPModel):
    """retake takes a P from a system call without incidlelocked(-1): while
    sysmon hands the P off, the M leaving the syscall finds no P, queues its
    G and parks, and checkdead sees no running M ("checkdead: runnable g")."""

    mutation_name = "retake-no-incidlelocked"

    def checkdead_run(self, t: bytes) -> int:
        L = self.L
        run = super().checkdead_run(t)
        return run - 1 if t[L.pc[L.SYSMON]] != PC.SYSMON else run


class StopmSkipsMput(GMPModel):
    """stopm parks the M without mput: it is on no idle list, so no startm
    will ever hand it a P. The thread is lost for good; the next startm
    creates another, until the thread bound."""

    mutation_name = "stopm-skips-mput"

    def stopm(self, s: list[int], m: int, c: None) -> Action:
        s[self.L.pc[m]] = PC.PARKED
        return Action("stopm", m=m).after(" (not on sched.midle)")


class WakepNoCas(GMPModel):
    """wakep adds one to nmspinning instead of returning when an M spins
    and CASing it from 0: it wakes a spinning M whatever spins already, the
    wasted threads the spinning protocol exists to prevent. The count stays
    right (nmspinning = spinners + wakeups in flight), so no accounting
    property sees it."""

    mutation_name = "wakep-no-cas"

    def wakep_cas(self, s: list[int], a: int, c: None) -> Action:
        L = self.L
        s[L.nmspinning] += 1
        s[L.pc[a]] = PC.WAKEP_PIDLE
        return Action("wakep.add", m=a)


class NoSpinLimit(GMPModel):
    """findRunnable lets every M out of work spin: the limit of half the
    busy Ps (`2*nmspinning < gomaxprocs - npidle`) is gone, so with many Ps
    and little parallelism every idle thread burns a CPU stealing."""

    mutation_name = "no-spin-limit"

    def findRunnable_steal_check(self, s: list[int], m: int, c: None) -> Action:
        s[self.L.pc[m]] = PC.FR_BECOME_SPINNING
        return Action("findRunnable.spin-limit", m=m).flag("steal")


class GlobrunqgetNoSizeCap(GMPModel):
    """globrunqgetbatch takes min(n, size/gomaxprocs + 1) G's without
    capping at the queue's size (Go 1.24's globrunqget had `if n >
    sched.runqsize { n = sched.runqsize }`): with one G queued and one P it
    pops two, the second a nil G."""

    mutation_name = "globrunqget-no-size-cap"

    def globrunqgetbatch(self, s: list[int], n: int) -> list[int]:
        size = q_len(s, self.L.grunq, self.L.nG)
        if size == 0:
            return []
        n = min(n, size // self.L.nP + 1)
        return q_pop_head(s, self.L.grunq, self.L.nG, n)


# ---- liveness bugs -------------------------------------------------------------


class GoschedLocal(GMPModel):
    """Gosched puts the yielding G on its own P's ring (runqput(pp, gp,
    false)) instead of the global queue. The yielder never leaves its P, and
    that P's queue is never empty, so it never steals: a G queued behind a
    goroutine that will not yield on another P waits for ever. Go's Gosched
    uses the global queue for this reason (dvyukov, golang/go#20168; the
    starvation itself, with the global queue and no async preemption, is
    golang/go#13546)."""

    mutation_name = "gosched-local"

    def goschedImpl(self, s: list[int], m: int, g: int, why: str) -> Action:
        if why != "Gosched":
            return super().goschedImpl(s, m, g, why)
        label = self.goyield_m(s, m, g)
        self.call(s, m, PC.WAKEP_CAS, PC.SCHEDULE)  # Gosched still wakes an M
        return label.renamed("Gosched.local")


class NoSchedtickCheck(GMPModel):
    """findRunnable without the `schedtick%61 == 0` look at the global queue:
    two goroutines that keep the local ring busy (handing the P back and
    forth) starve a G waiting in the global queue. ("Otherwise two
    goroutines can completely occupy the local runqueue by constantly
    respawning each other.")"""

    mutation_name = "no-schedtick-check"

    def schedule(self, s: list[int], m: int, c: None) -> Action:
        return self.findRunnable_runqget(s, m, None)


class RunnextNoInherit(GMPModel):
    """execute advances schedtick for a G taken from runnext too (no
    inherited time slice). A pair that readies each other starts a new time
    slice at every switch, so sysmon never sees the same schedtick twice and
    never preempts them: a CPU hog queued behind them starves. Go 1.5's
    runnext (CL 9289) shares one slice across the pair for this reason."""

    mutation_name = "runnext-no-inherit"

    def execute(self, s: list[int], m: int, c: None) -> Action:
        s[self.L.inherit[m]] = 0
        return super().execute(s, m, c)


class SysmonNoRetake(GMPModel):
    """sysmon never takes a P back from a system call: a G queued on that
    P waits until the call returns, which for a blocking call may be never,
    while no other M runs anything."""

    mutation_name = "sysmon-no-retake"

    def sysmon_choices(self, t: bytes, a: int) -> list[int]:
        return [c for c in super().sysmon_choices(t, a) if c == NONE]


class StartlockedmRunsItHere(GMPModel):
    """schedule() runs a G that is locked to another M itself, instead of
    handing the G and its P to that M (startlockedm is skipped): the locked
    M sleeps on, and its G runs elsewhere."""

    mutation_name = "startlockedm-runs-it-here"

    def lockedm(self, t: bytes | list[int], g: int) -> int:
        return NONE


# ---- benign variants -------------------------------------------------------------


class StealAll(GMPModel):
    """runqgrab takes the victim's whole ring instead of half."""

    mutation_name = "steal-all"

    def runqgrab(self, s: list[int], victim: int) -> list[int]:
        return q_pop_head(s, self.L.runq[victim], self.L.C, self.runq_len(s, victim))


class RingFour(GMPModel):
    """A local run queue of capacity 4 instead of 2 (Go's is 256)."""

    mutation_name = "ring-4"


_m = Mutation


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in [
        _m(
            "recheck-before-decrement",
            RecheckBeforeDecrement,
            "the spinning M re-checks the queues before it decrements nmspinning",
            "the StoreLoad order of proc.go's spinning -> non-spinning transition "
            "('Delicate dance'); reference §6.2",
            ("work-conservation",),
            {"cores": 2, "depth": 36, "workload": "spawn-burst"},
        ),
        _m(
            "no-needspinning",
            NoNeedspinning,
            "pidlegetSpinning never sets needspinning, so no M keeps its P for found work",
            "golang/go#45867 (broken work conservation after CL 310850, #43997); fixed by "
            "the needspinning handshake",
            ("work-conservation",),
            {"cores": 2, "depth": 25, "workload": "spawn-burst"},
        ),
        _m(
            "resetspinning-no-wakep",
            ResetspinningNoWakep,
            "the last spinning M to find work wakes nobody",
            "proc.go header: 'if the last spinning thread finds work and stops spinning, it "
            "must unpark a new spinning thread'",
            ("work-conservation",),
            {"cores": 3, "depth": 16, "workload": "spawn-burst"},
        ),
        _m(
            "steal-not-atomic",
            StealNotAtomic,
            "a thief copies half of the victim's ring without claiming it",
            "runqgrab's CasRel on runqhead (proc.go)",
            ("no-lost-g",),
            {"cores": 2, "depth": 13, "workload": "spawn-burst"},
        ),
        _m(
            "exitsyscall-drops-g",
            ExitsyscallDropsG,
            "exitsyscall0 with no idle P forgets to put the G on the global queue",
            "exitsyscall0's globrunqput (proc.go)",
            ("no-lost-g",),
            {"cores": 1, "depth": 11, "workload": "syscall-heavy"},
        ),
        _m(
            "handoffp-ignores-global-queue",
            HandoffpIgnoresGlobalQueue,
            "handoffp idles the P although the global queue has work",
            "golang/go#13645 (handoffp stricter than findrunnable; soft lock-up)",
            ("work-conservation",),
            {"cores": 2, "depth": 27, "workload": "syscall-heavy"},
        ),
        _m(
            "exitsyscall0-skips-casgstatus",
            Exitsyscall0SkipsCasgstatus,
            "exitsyscall0 queues the G still in _Gsyscall",
            "casgstatus's status checks (proc.go); reference §10.6",
            ("status-transitions",),
            {"cores": 1, "depth": 16, "workload": "syscall-heavy"},
        ),
        _m(
            "exitsyscall-no-cas",
            ExitsyscallNoCas,
            "exitsyscallfast takes its old P back without the CAS out of _Psyscall",
            "exitsyscallfast's CAS and the syscalltick check (proc.go); reference §2.2 (ABA)",
            ("p-ownership",),
            {"cores": 1, "depth": 10, "workload": "syscall-heavy"},
            profiles=("go1.25",),  # Go 1.26 has no _Psyscall to CAS out of
        ),
        _m(
            "wakep-leaks-nmspinning",
            WakepLeaksNmspinning,
            "wakep keeps its nmspinning increment when no P is idle",
            "wakep's 'nmspinning.Add(-1)' when pidlegetSpinning fails (proc.go); with "
            "nmspinning stuck at 1 no wakep starts an M again, the hang of golang/go#45867 "
            "by another road",
            ("spinning-accounting",),
            {"cores": 2, "depth": 6},
            also_violates=("eventual-parallelism",),
            also_at={
                "cores": 2,
                "depth": 0,
                "workload": "yield-pair",
                "steps": "macro",
                "period": 2,
            },  # fmt: skip
        ),
        _m(
            "retake-no-incidlelocked",
            RetakeNoIncidlelocked,
            "sysmon does not count as running while it hands off a retaken P",
            "retake's incidlelocked(-1)/(1) bracket (proc.go comment: 'Otherwise the M from "
            "which we retake can exit the syscall, increment nmidle and report deadlock')",
            ("no-checkdead",),
            {"cores": 1, "depth": 12, "workload": "syscall-heavy"},
        ),
        _m(
            "stopm-skips-mput",
            StopmSkipsMput,
            "stopm parks the M without putting it on sched.midle",
            "stopm's mput (proc.go); a thread parked where no startm finds it is lost for "
            "good, and nothing but the thread bound says so",
            ("m-accounting",),
            {"cores": 1, "depth": 10, "workload": "syscall-heavy"},
        ),
        _m(
            "wakep-no-cas",
            WakepNoCas,
            "wakep wakes a spinning M whatever spins already (nmspinning.Add instead of the CAS)",
            "wakep's 'if sched.nmspinning.Load() != 0 || !sched.nmspinning.CompareAndSwap(0, 1)' "
            "(proc.go): 'be conservative about spinning threads'; reference §6.1",
            ("spinning-policy",),
            {"cores": 2, "depth": 9},
        ),
        _m(
            "no-spin-limit",
            NoSpinLimit,
            "findRunnable lets every M out of work spin",
            "findRunnable's '2*sched.nmspinning.Load() < gomaxprocs-sched.npidle.Load()' "
            "('limit the number of spinning Ms to half the number of busy Ps'); reference §6.5",
            ("spinning-policy",),
            {"cores": 2, "depth": 19, "workload": "spawn-burst"},
        ),
        _m(
            "globrunqget-no-size-cap",
            GlobrunqgetNoSizeCap,
            "globrunqgetbatch takes size/gomaxprocs + 1 G's without capping at the queue's size",
            "Go 1.24's globrunqget: 'if n > sched.runqsize { n = sched.runqsize }'; Go 1.25's "
            "globrunqgetbatch: 'n = min(n, sched.runq.size, sched.runq.size/gomaxprocs+1)'",
            ("queue-bounds",),
            {"cores": 1, "depth": 21, "workload": "syscall-heavy", "period": 2, "ring": 4},
            config={"ring": 4},
        ),
        _m(
            "gosched-local",
            GoschedLocal,
            "Gosched puts the G on the local ring instead of the global queue",
            "golang/go#13546 (goroutine starvation due to Gosched) and the rationale for the "
            "global queue in golang/go#20168",
            ("no-starvation",),
            {
                "cores": 3,
                "depth": 0,
                "workload": "gosched-starve",
                "steps": "macro",
                "period": 2,
                "async_preempt": False,
            },
        ),
        _m(
            "no-schedtick-check",
            NoSchedtickCheck,
            "findRunnable never looks at the global queue while the local one has work",
            "findRunnable's schedtick%61 check (proc.go: 'Otherwise two goroutines can "
            "completely occupy the local runqueue by constantly respawning each other')",
            ("no-starvation",),
            {"cores": 1, "depth": 0, "workload": "yield-pair", "steps": "macro", "period": 2},
        ),
        _m(
            "runnext-no-inherit",
            RunnextNoInherit,
            "a G run from runnext starts a new time slice",
            "CL 9289 (Go 1.5, runnext and time-slice inheritance; BenchmarkPingPongHog)",
            ("no-starvation",),
            {"cores": 1, "depth": 0, "workload": "pingpong-hog", "steps": "macro", "period": 2},
        ),
        _m(
            "sysmon-no-retake",
            SysmonNoRetake,
            "sysmon never retakes a P blocked in a system call",
            "retake's _Psyscall case (proc.go); reference §8.2",
            ("progress", "no-starvation"),
            {"cores": 1, "depth": 0, "workload": "syscall-heavy", "steps": "macro", "period": 2},
        ),
        _m(
            "startlockedm-runs-it-here",
            StartlockedmRunsItHere,
            "an M runs a G locked to another M instead of handing it over (startlockedm)",
            "schedule()'s 'if gp.lockedm != 0 { startlockedm(gp) }' (proc.go); reference T22",
            ("locked-threads",),
            {"cores": 1, "depth": 12, "workload": "locked-thread"},
        ),
        _m(
            "steal-all",
            StealAll,
            "stealing takes the victim's whole ring instead of half",
            "benign: a different steal amount keeps every property",
            (),
            {"cores": 2, "depth": 14},
            benign=True,
        ),
        _m(
            "ring-4",
            RingFour,
            "local run queues of capacity 4",
            "benign: the ring size changes no property",
            (),
            {"cores": 2, "depth": 14},
            benign=True,
            config={"ring": 4},
        ),
    ]
}
