"""Building a runtime from a configuration, as model/factory.py builds a model."""

from __future__ import annotations

from dataclasses import replace

from model.config import Config, ConfigError
from model.workloads import Workload
from runtime.scheduler import Runtime


def build_runtime(
    cfg: Config,
    *,
    runtime_class: type[Runtime] | None = None,
    seed: int = 0,
    grow_gs: bool = False,
    workload: Workload | None = None,
) -> Runtime:
    """The runtime for `cfg`. `cfg.mutation` names a registered mutation: its
    runtime twin (runtime/mutations.py) and the configuration it sets
    (model/mutations.py); `runtime_class` overrides the class; `workload`
    is a plug-in's own program (else cfg.workload names a shipped one)."""
    from model.mutations import MUTATIONS
    from runtime.mutations import RUNTIME_MUTATIONS

    klass = runtime_class or Runtime
    if cfg.mutation:
        if cfg.mutation not in MUTATIONS:
            known = ", ".join(sorted(MUTATIONS))
            raise ConfigError(f"unknown mutation {cfg.mutation!r} (known: {known})")
        if cfg.mutation not in RUNTIME_MUTATIONS:
            raise ConfigError(f"mutation {cfg.mutation!r} has no twin in the runtime")
        if runtime_class is None:
            klass = RUNTIME_MUTATIONS[cfg.mutation]
        mut = MUTATIONS[cfg.mutation]
        if mut.config:
            cfg = replace(cfg, **mut.config)
    return klass(cfg, workload, seed=seed, grow_gs=grow_gs)
