"""`--model FILE:NAME`: check a variant of your own without editing the package.

NAME in FILE may be:
  - a subclass of model.gmp.GMPModel (override the step methods you change;
    add program counters and state fields, model/extension.py); the class
    may bring its own workload (`plugin_workload = Workload(...)`) and the
    configuration it needs (`plugin_config = {"ring": 4}`),
  - a model.mutations.Mutation (its class, the configuration it sets, and
    its class's workload if it has one),
  - a model.workloads.Workload (Go's scheduler, running your programs).

Provenance: a plug-in is named by its `mutation_name` (a class), its `name`
(a Mutation or Workload), or else NAME; a name that a registered mutation
(or, for a workload, a shipped workload) already has is refused. The
summary, the traces and the HTML view name the plug-in, its file and the
SHA-256 of the file, so that `view` and `replay` notice a trace written by
another version of the plug-in (checker/views/itf.py).

examples/ holds plug-ins to start from; examples/README.md has the pattern
for an override's label.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from model.gmp import GMPModel
from model.mutations import MUTATIONS, Mutation
from model.workloads import WORKLOADS, Workload


class PluginError(ValueError):
    """The plug-in cannot be loaded (a usage error, exit 2)."""


@dataclass
class Plugin:
    model_class: type[GMPModel] | None = None
    workload: Workload | None = None
    config: dict | None = None
    name: str = ""
    file: str = ""  # the file, resolved
    object: str = ""  # NAME in FILE
    sha256: str = ""  # of the file when it was loaded
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        """What traces and summaries record of the plug-in (#meta.gmpcheck.plugin)."""
        return {
            "name": self.name,
            "file": self.file,
            "object": self.object,
            "sha256": self.sha256,
            "kind": "model" if self.model_class is not None else "workload",
            "workload": self.workload.name if self.workload is not None else None,
        }


def raised_in_plugin(e: BaseException, spec: str | None) -> str:
    """Where in the plug-in FILE of `--model FILE:NAME` the exception e was
    raised ("FILE:LINE"), or "" when it was not raised in its code."""
    if not spec:
        return ""
    file = Path(spec.rpartition(":")[0] or spec).resolve()
    tb, where = e.__traceback__, ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == file:
            where = f"{file}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
    obj = _load_object(path, name, file)
    if isinstance(obj, type) and issubclass(obj, GMPModel):
        _check_name(file, "mutation_name", vars(obj).get("mutation_name", ""))
        plugin = Plugin(
            model_class=obj,
            workload=_workload_of(obj, file, name),
            config=_config_of(obj, file, name),
            name=vars(obj).get("mutation_name") or name,
        )
    elif isinstance(obj, Mutation):
        _check_name(file, "name", obj.name)
        plugin = Plugin(
            model_class=obj.model,
            workload=_workload_of(obj.model, file, name),
            config={**(_config_of(obj.model, file, name) or {}), **obj.config} or None,
            name=obj.name,
        )
    elif isinstance(obj, Workload):
        _check_name(file, "name", obj.name)
        if obj.name in WORKLOADS:
            raise PluginError(
                f"--model: {file}:{name} is named {obj.name!r}, which is a shipped workload's "
                "name: give it a name of its own"
            )
        plugin = Plugin(workload=obj, name=obj.name)
    else:
        raise PluginError(
            f"--model: {file}:{name} is a {type(obj).__name__}, not a GMPModel subclass, "
            "a Mutation or a Workload"
        )
    if plugin.model_class is not None and plugin.name in MUTATIONS:
        raise PluginError(
            f"--model: {file}:{name} is named {plugin.name!r}, which is a registered "
            "mutation's name: give it a mutation_name of its own"
        )
    plugin.file = str(path.resolve())
    plugin.object = name
    plugin.sha256 = file_hash(path)
    return plugin


def _load_object(path: Path, name: str, file: str) -> object:
    mod_name = f"gmpcheck_plugin_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
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
    return getattr(module, name)


def _workload_of(klass: type, file: str, name: str) -> Workload | None:
    w = getattr(klass, "plugin_workload", None)
    if w is not None and not isinstance(w, Workload):
        raise PluginError(f"--model: {file}:{name}.plugin_workload is not a Workload")
    if w is not None and w.name in WORKLOADS:
        raise PluginError(
            f"--model: {file}:{name}.plugin_workload is named {w.name!r}, which is a shipped "
            "workload's name: give it a name of its own"
        )
    return w


def _config_of(klass: type, file: str, name: str) -> dict | None:
    c = getattr(klass, "plugin_config", None)
    if c is not None and not isinstance(c, dict):
        raise PluginError(f"--model: {file}:{name}.plugin_config is not a dict of Config fields")
    return dict(c) if c else None


def load_recorded(meta: dict) -> Plugin:
    """The plug-in a trace was written with (#meta.gmpcheck.plugin), loaded
    again from its file; PluginError if the file is gone or has changed
    since (its SHA-256 differs)."""
    file, obj = meta.get("file") or "", meta.get("object") or ""
    if not Path(file).is_file():
        raise PluginError(
            f"the trace was written with plug-in {meta.get('name')!r} from {file}, which is gone"
        )
    now = file_hash(file)
    if now != meta.get("sha256"):
        raise PluginError(
            f"the trace was written with plug-in {meta.get('name')!r} from {file}, which has "
            f"changed since (sha256 {str(meta.get('sha256'))[:12]}…, now {now[:12]}…): "
            "check it again for a current trace"
        )
    return load_plugin(f"{file}:{obj}")


def label_audit(model, limit: int = 300) -> list[str]:
    """The overrides that change what a step does but keep the label of the
    step they override (examples/README.md: an override says what it did).

    The plug-in's model and Go's scheduler (its profile, same configuration)
    are run side by side on the plug-in's first `limit` states: a step of the
    plug-in whose label Go's step also has, but whose next state differs
    (in the fields both have), is reported, once per method."""
    from collections import deque
    from dataclasses import replace

    from model.factory import build_model
    from model.go126 import Go126Model

    profile = "go1.26" if isinstance(model, Go126Model) else model.cfg.profile
    cfg = replace(model.cfg, mutation="", profile=profile)
    base = build_model(cfg, symmetry=False, workload=model.workload)
    size = base.L.size
    seen: set[bytes] = set()
    todo = deque(model.initial_states())
    found: dict[str, str] = {}
    while todo and len(seen) < limit:
        t = todo.popleft()
        if t in seen:
            continue
        seen.add(t)
        for a in range(model.L.nA):
            pc = t[model.L.pc[a]]
            mine = model.step_method(pc)
            if mine is None or mine is base.step_method(pc):
                continue
            theirs = dict(base.actor_steps(t[:size], a)[0]) if base._dispatch[pc] else {}
            for label, u in model.actor_steps(t, a)[0]:
                if label in theirs and theirs[label] != u[:size]:
                    name = mine.__qualname__
                    found.setdefault(
                        name,
                        f"{name} keeps the label {str(label)!r} of Go's step but does something "
                        "else: "
                        "append what the override did (examples/README.md)",
                    )
        for _a, _label, u in model.successors(t)[0]:
            if u not in seen:
                todo.append(u)
    return list(found.values())
