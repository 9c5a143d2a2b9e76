"""Building a model from a configuration: the profile and the mutation (or
plug-in) pick the class, the workload picks the programs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from model.config import Config, ConfigError
from model.gmp import GMPModel
from model.workloads import Workload


def build_model(
    cfg: Config,
    *,
    symmetry: bool = True,
    model_class: type[GMPModel] | None = None,
    workload: Workload | None = None,
    plugin: dict[str, Any] | None = None,
) -> GMPModel:
    """The model for `cfg`. `cfg.mutation` names a registered mutation (its
    class and any configuration it sets); `model_class` overrides it with a
    plug-in class. A mutation or plug-in written against GMPModel runs on
    the go1.26 profile by putting its class in front of the profile's (its
    overrides win; `super()` reaches the profile's steps). `plugin` records
    where a plug-in came from (checker/plugin.py Plugin.describe)."""
    from model.go126 import Go126Model
    from model.mutations import MUTATIONS

    klass = model_class or GMPModel
    if cfg.mutation and model_class is None:
        if cfg.mutation not in MUTATIONS:
            known = ", ".join(sorted(MUTATIONS))
            raise ConfigError(f"unknown mutation {cfg.mutation!r} (known: {known})")
        mut = MUTATIONS[cfg.mutation]
        if cfg.profile not in mut.profiles:
            raise ConfigError(
                f"mutation {cfg.mutation!r} changes a step the {cfg.profile} profile does not "
                f"have (it applies to: {', '.join(mut.profiles)})"
            )
        klass = mut.model
        if mut.config:
            cfg = replace(cfg, **mut.config)
    if cfg.profile == "go1.26" and not issubclass(klass, Go126Model):
        klass = _on_profile(klass, Go126Model)
    model = klass(cfg, workload=workload, symmetry=symmetry)
    if plugin is not None:
        # Where the variant comes from (checker/plugin.py): the summary, the
        # traces and the views name it; a class without a mutation_name is
        # named after the object loaded.
        model.plugin = dict(plugin)
        if model_class is not None:
            model.mutation_name = plugin["name"]
    return model


def _on_profile(klass: type[GMPModel], profile: type[GMPModel]) -> type[GMPModel]:
    if klass is GMPModel:
        return profile
    return type(f"{klass.__name__}On{profile.__name__}", (klass, profile), {})
