"""The model's configuration: the knobs a run sets, with Go's values as defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from model.errors import ConfigError as ConfigError  # raised here, imported from here
from model.workloads import DEFAULT_WORKLOAD

# Go 1.25 proc.go: `pp.schedtick%61 == 0` in findRunnable.
GO_SCHEDTICK_PERIOD = 61
# Go 1.25 proc.go stealWork: `const stealTries = 4`.
GO_STEAL_TRIES = 4
# Scheduler versions the model can be: Go 1.25 (P in _Psyscall during a system
# call, the default) and Go 1.26+ (no _Psyscall: model/go126.py).
PROFILES = ("go1.25", "go1.26")
DEFAULT_PROFILE = "go1.25"
# The local run queue sizes the model represents as Go behaves (Go: 256).
RINGS = (2, 4, 8, 16)


# One byte per actor in a state, sysmon included (model/gmp.py).
MAX_MS = 249


@dataclass(frozen=True)
class Config:
    """What a run of the model is: GOMAXPROCS, the bounds, the workload, the profile.

    cores          GOMAXPROCS of the model: the number of Ps.
    max_ms         how many Ms (OS threads) may exist; sysmon is extra. A run that
                   would need one more reports a truncated search.
    ring           capacity of each P's local run queue (Go: 256): a power of two
                   from 2 to 16. Small by default so that overflow (runqputslow)
                   is reachable; stealing takes ceil(n/2), overflow moves
                   ring/2 + 1, the global batch is at most ring/2, as in Go.
    period         the schedtick period of findRunnable's global-queue check
                   (Go: 61).
    steal_tries    passes of stealWork over all Ps (Go: 4); runnext is stolen
                   only on the last one.
    async_preempt  asynchronous (signal) preemption on (Go >= 1.14 default) or
                   off (GODEBUG=asyncpreemptoff=1).
    workload       the programs the goroutines run.
    mutation       the name of a registered mutation, or "" for Go's scheduler.
    profile        the scheduler version: "go1.25" (default) or "go1.26", whose
                   system calls keep the P _Prunning (model/go126.py).
    steps          "fine": one step per runtime-atomic action (the model); "macro":
                   one step per runtime routine, for exhaustive searches.
    """

    cores: int = 4
    max_ms: int = 0  # 0: cores + 2
    ring: int = 2
    period: int = GO_SCHEDTICK_PERIOD
    steal_tries: int = GO_STEAL_TRIES
    async_preempt: bool = True
    workload: str = DEFAULT_WORKLOAD
    mutation: str = ""
    profile: str = DEFAULT_PROFILE
    steps: str = "fine"

    def __post_init__(self) -> None:
        # Every value is checked before anything is allocated for it (a trace's
        # config comes from a file: a float, a string or 10**8 Ms is refused here).
        for name in ("cores", "max_ms", "ring", "period", "steal_tries"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be a whole number (got {v!r})")
        if not isinstance(self.async_preempt, bool):
            raise ConfigError(f"async_preempt must be true or false (got {self.async_preempt!r})")
        for name in ("workload", "mutation", "profile", "steps"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be a name (got {getattr(self, name)!r})")
        if self.cores < 1:
            raise ConfigError(f"--cores must be at least 1 (got {self.cores})")
        if self.cores > 8:
            raise ConfigError(f"--cores must be at most 8 (got {self.cores})")
        if self.max_ms and self.max_ms < 1:
            raise ConfigError(f"--max-ms must be at least 1 (got {self.max_ms})")
        if self.max_ms > MAX_MS:
            raise ConfigError(
                f"--max-ms must be at most {MAX_MS}, the state encoding's limit (got {self.max_ms})"
            )
        if self.ring not in RINGS:
            # Go's ring is 256 slots indexed modulo their number by free-running
            # uint32 counters (a power of two); runqputslow moves half of it plus
            # one, and globrunqgetbatch takes up to half: a ring of 1 would make
            # the global batch empty, an odd one makes runqgrab's "n > len/2"
            # consistency check reject a full ring for ever.
            raise ConfigError(
                f"--ring must be a power of two from 2 to 16, as Go's 256 is (got {self.ring})"
            )
        if self.period < 1 or self.period > 250:
            raise ConfigError(f"--period must be between 1 and 250 (got {self.period})")
        if self.steal_tries < 1 or self.steal_tries > 8:
            raise ConfigError(f"--steal-tries must be between 1 and 8 (got {self.steal_tries})")
        if self.steps not in ("fine", "macro"):
            raise ConfigError(f"--steps must be fine or macro (got {self.steps!r})")
        if self.profile not in PROFILES:
            known = ", ".join(PROFILES)
            raise ConfigError(f"unknown profile {self.profile!r} (known: {known})")

    @property
    def ms(self) -> int:
        return self.max_ms or self.cores + 2

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["max_ms"] = self.ms
        return d
