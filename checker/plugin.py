"""`--model FILE:NAME`: check a variant of your own without editing the package.

NAME in FILE may be:
  - a subclass of model.gmp.GMPModel (override the step methods you change),
  - a model.mutations.Mutation (its class, and the configuration it sets),
  - a model.workloads.Workload (Go's scheduler, running your programs).

Example (examples/my_mutation.py in the README):

    from model.gmp import GMPModel

    class NoWakepOnNewproc(GMPModel):
        mutation_name = "no-wakep-on-newproc"
        def runqput_next(self, s, m, p, g):
            super().runqput_next(s, m, p, g)
            if s[self.L.pc[m]] == PC.WAKEP_CAS:
                self.ret(s, m)
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from model.gmp import GMPModel
from model.mutations import Mutation
from model.workloads import Workload


class PluginError(ValueError):
    """The plug-in cannot be loaded (a usage error, exit 2)."""


@dataclass
class Plugin:
    model_class: type[GMPModel] | None = None
    workload: Workload | None = None
    config: dict | None = None
    name: str = ""


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _check_name(file: str, attr: str, value) -> None:
    """A plug-in's names go into file names and summaries: letters, digits,
    '.', '_' and '-' only, at most 64 characters."""
    if value == "" and attr == "mutation_name":
        return
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise PluginError(
            f"--model: {file}: {attr} {value!r} must be 1 to 64 letters, digits, '.', '_' or '-'"
        )


def load_plugin(spec: str) -> Plugin:
    if ":" not in spec:
        raise PluginError(f"--model {spec!r}: expected FILE:NAME")
    file, _, name = spec.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise PluginError(f"--model: {file}: no such file")
    mod_name = f"gmpcheck_plugin_{abs(hash(path.resolve())) & 0xFFFFFF:x}"
    try:
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise PluginError(f"--model: {file} is not a Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        loader_spec.loader.exec_module(module)
    except PluginError:
        raise
    except Exception as e:  # the user's file failed to import
        raise PluginError(f"--model: {file} failed to load: {type(e).__name__}: {e}") from None
    if not hasattr(module, name):
        raise PluginError(f"--model: {file} does not define {name!r}")
    obj = getattr(module, name)
    if isinstance(obj, type) and issubclass(obj, GMPModel):
        _check_name(file, "mutation_name", getattr(obj, "mutation_name", ""))
        return Plugin(model_class=obj, name=getattr(obj, "mutation_name", "") or name)
    if isinstance(obj, Mutation):
        _check_name(file, "name", obj.name)
        return Plugin(model_class=obj.model, config=dict(obj.config), name=obj.name)
    if isinstance(obj, Workload):
        _check_name(file, "name", obj.name)
        return Plugin(workload=obj, name=obj.name)
    raise PluginError(
        f"--model: {file}:{name} is a {type(obj).__name__}, not a GMPModel subclass, "
        "a Mutation or a Workload"
    )
