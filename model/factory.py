"""Building a model from a configuration: the mutation (or plug-in) picks the
class, the workload picks the programs."""

from __future__ import annotations

from dataclasses import replace

from model.config import Config, ConfigError
from model.gmp import GMPModel
from model.workloads import Workload


def build_model(
    cfg: Config,
    *,
    symmetry: bool = True,
    model_class: type[GMPModel] | None = None,
    workload: Workload | None = None,
) -> GMPModel:
    """The model for `cfg`. `cfg.mutation` names a registered mutation (its
    class and any configuration it sets); `model_class` overrides it with a
    plug-in class."""
    from model.mutations import MUTATIONS

    klass = model_class or GMPModel
    if cfg.mutation and model_class is None:
        if cfg.mutation not in MUTATIONS:
            known = ", ".join(sorted(MUTATIONS))
            raise ConfigError(f"unknown mutation {cfg.mutation!r} (known: {known})")
        mut = MUTATIONS[cfg.mutation]
        klass = mut.model
        if mut.config:
            cfg = replace(cfg, **mut.config)
    return klass(cfg, workload=workload, symmetry=symmetry)
