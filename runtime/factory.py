"""Building a runtime from a configuration, as model/factory.py builds a model."""

from __future__ import annotations

from dataclasses import replace

from model.config import Config, ConfigError
from model.workloads import Workload
from runtime.go126 import PROFILE, Runtime126
from runtime.scheduler import Runtime
from runtime.threads import PCT_DEPTH, SCHEDULERS


def runtime_class_of(name: str) -> type[Runtime]:
    """The runtime's class for the registered mutation `name` (its
    declaration in model/mutations.py names it in runtime/mutations.py)."""
    from model.mutations import MUTATIONS
    from runtime import mutations

    if name not in MUTATIONS:
        known = ", ".join(sorted(MUTATIONS))
        raise ConfigError(f"unknown mutation {name!r} (known: {known})")
    klass = getattr(mutations, MUTATIONS[name].runtime_override, None)
    if not (isinstance(klass, type) and issubclass(klass, Runtime)):
        raise ConfigError(f"mutation {name!r} has no twin in the runtime")
    return type(klass.__name__, (klass,), {"mutation_name": name, "__doc__": klass.__doc__})


def build_runtime(
    cfg: Config,
    *,
    runtime_class: type[Runtime] | None = None,
    seed: int = 0,
    grow_gs: bool = False,
    workload: Workload | None = None,
    scheduler: str = "random",
    pct_depth: int = PCT_DEPTH,
) -> Runtime:
    """The runtime for `cfg`. `cfg.mutation` names a registered mutation: its
    runtime twin (runtime/mutations.py) and the configuration it sets
    (model/mutations.py); `runtime_class` overrides the class; `workload`
    is a plug-in's own program (else cfg.workload names a shipped one).
    The go1.26 profile puts runtime/go126.py's system calls under the
    class, as model/factory.py does for the model: a mutation's overrides
    win, and `super()` reaches Go 1.26's steps.
    `scheduler` is how a free run picks the next thread (runtime/threads.py
    SCHEDULERS: a seeded random pick, or PCT with `pct_depth` priority
    change points)."""
    from model.mutations import MUTATIONS

    klass = runtime_class or Runtime
    if cfg.mutation:
        twin = runtime_class_of(cfg.mutation)
        if runtime_class is None:
            klass = twin
        mut = MUTATIONS[cfg.mutation]
        if cfg.profile not in mut.profiles:
            raise ConfigError(
                f"mutation {cfg.mutation!r} changes a step the {cfg.profile} profile does not "
                f"have (it applies to: {', '.join(mut.profiles)})"
            )
        if mut.config:
            cfg = replace(cfg, **mut.config)
    if scheduler not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {scheduler!r} (known: {', '.join(SCHEDULERS)})")
    if pct_depth < 0:
        raise ConfigError(f"PCT's depth must be at least 0 (got {pct_depth})")
    rt = on_profile(klass, cfg.profile)(cfg, workload, seed=seed, grow_gs=grow_gs)
    rt.policy, rt.pct_depth = scheduler, pct_depth
    return rt


def on_profile(klass: type[Runtime], profile: str) -> type[Runtime]:
    """`klass` on the profile's system calls: Go 1.25's are the Runtime's
    own; go1.26 puts Runtime126 (runtime/go126.py) behind the class."""
    if profile != PROFILE or issubclass(klass, Runtime126):
        return klass
    if klass is Runtime:
        return Runtime126
    attrs = {"__doc__": klass.__doc__, "__module__": klass.__module__}
    return type(klass.__name__, (klass, Runtime126), attrs)
