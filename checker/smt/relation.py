"""The symbolic transition relation and properties of one model configuration.

Built by running the model's own step methods and property checks over
symbolic states (checker/smt/symbolic.py), never from a second description
of the scheduler:

- `commands`: for every actor a and every program counter X the actor may
  be at, the paths of `chooser(t, a)` followed by `step(s, a, choice)` — the
  dispatch of Machine.step_successors — each a guarded command: a guard
  over the state, the bytes it writes, and its label (a template filled in
  from the state). A path that returns TRUNCATED is kept apart, as the
  explicit engine does; a path on which the model would fail is
  `undefined`.
- `bad[property]`: the states (for an action property, the pairs of states)
  on which the property's check returns a reason, as a formula: the
  disjunction of the guards of the check's failing paths.
- `domains`: the type of every byte (a G, a P or an M reference, a status, a
  program counter...). Symbolic lookups use it to bound the indexes a value
  may take; `type_ok` states it, and the engines check it (bmc.py) or prove
  it (induction.py), so it is never merely assumed.

A `Relation` depends only on the configuration: it is built once per model
and cached.
"""

from __future__ import annotations

import copy
import time
import types
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from checker.smt.actions import fill, template
from checker.smt.expr import BOOL, INT, and_, evaluate, isin, not_, or_, var
from checker.smt.fold import DONT_CARE, clear_caches, fold_paths, folding
from checker.smt.knowledge import Knowledge
from checker.smt.paths import (
    EXPLAINED,
    OK,
    UNDEFINED,
    Explained,
    PathExplosion,
    Unsupported,
    assume,
    enumerate_paths,
)
from checker.smt.symbolic import (
    Mode,
    NameTable,
    Sym,
    SymBool,
    SymSet,
    SymState,
    SymTable,
    SymTuple,
)
from model.action import Action
from model.machine import TRUNCATED
from model.pcs import PC, SYSMON_PCS
from model.state import G_STATUS_NAMES, NONE, P_STATUS_NAMES, THROW_NAMES, QueueError
from specs import properties_of
from specs.property import ACTION, INVARIANT, Property

M_PCS = frozenset(int(p) for p in PC if p != PC.SYSMON)


def field_domains(model) -> list[frozenset[int]]:
    """The values each byte of the state may hold (its type)."""
    L, code, cfg = model.L, model.code, model.cfg
    any_byte = frozenset(range(256))
    flag = frozenset((0, 1))
    gref = frozenset(range(L.nG)) | {NONE}
    pref = frozenset(range(L.nP)) | {NONE}
    mref = frozenset(range(L.nM)) | {NONE}
    instr = frozenset(pc for pc, op in enumerate(code.ops) if op >= 0) | {0}
    d = [any_byte] * L.size
    for g in range(L.nG):
        d[L.g_status[g]] = frozenset(range(len(G_STATUS_NAMES)))
        d[L.g_pc[g]] = instr
        d[L.g_preempt[g]] = flag
    for p in range(L.nP):
        d[L.p_status[p]] = frozenset(range(len(P_STATUS_NAMES)))
        d[L.schedtick[p]] = frozenset(range(cfg.period))
        d[L.sched_age[p]] = frozenset((0, 1, 2))
        d[L.sysc_age[p]] = frozenset((0, 1, 2))
        d[L.p_m[p]] = mref
        d[L.runnext[p]] = gref
        for i in range(L.C):
            d[L.runq[p] + i] = gref
    m_pcs = frozenset(int(p) for p in model.m_pcs()) if hasattr(model, "m_pcs") else M_PCS
    s_pcs = (
        frozenset(int(p) for p in model.sysmon_pcs())
        if hasattr(model, "sysmon_pcs")
        else (frozenset(int(p) for p in SYSMON_PCS))
    )
    for a in range(L.nA):
        pcs = s_pcs if a == L.SYSMON else m_pcs
        d[L.pc[a]] = pcs
        d[L.ret[a]] = frozenset({0, int(PC.SYSMON)}) if a == L.SYSMON else pcs | {0}
        for f in (L.inherit, L.spinning, L.spin_arg):
            d[f[a]] = flag
        d[L.steal_pass[a]] = frozenset(range(cfg.steal_tries))
        d[L.mask[a]] = frozenset(range(1 << L.nP))
        d[L.curg[a]] = gref
        d[L.gp[a]] = gref
        for i in range(L.B):
            d[L.batch[a] + i] = gref
        for f in (L.m_p, L.nextp, L.oldp, L.pp):
            d[f[a]] = pref
    d[L.needspinning] = flag
    d[L.throw] = frozenset(range(len(THROW_NAMES)))
    for i in range(L.nG):
        d[L.grunq + i] = gref
    for i in range(L.nP):
        d[L.pidle + i] = pref
    for i in range(L.nM):
        d[L.midle + i] = mref
    for i in range(L.nS):
        d[L.sema + i] = flag
    # A variant's fields (model/extension.py), typed as it declares them.
    for f in getattr(L, "extra_fields", ()):
        values = {"flag": flag, "G": gref, "P": pref, "M": mref}.get(f.kind)
        if values is None:
            values = frozenset(range(f.limit + 1))
        at = L.extra[f.name]
        for off in [at] if isinstance(at, int) else at:
            d[off] = values
    return d


# ---- the model's code, over symbolic values ------------------------------------------


class _Getter:
    """The layout's itemgetters, returning tuples that count symbolically."""

    def __init__(self, items: tuple[int, ...]):
        self.items = items

    def __call__(self, t):
        if len(self.items) == 1:
            return t[self.items[0]]
        return SymTuple(t[i] for i in self.items)


def symbolic_model(model):
    """A copy of the model whose layout and instruction tables take symbolic
    indexes; its steps are the model's own methods (mutations included)."""
    sm = copy.copy(model)
    L = copy.copy(model.L)
    for name, val in vars(model.L).items():
        if isinstance(val, list) and val and all(type(x) is int for x in val):
            setattr(L, name, SymTable(val))
        elif isinstance(val, itemgetter):
            setattr(L, name, _Getter(val.__reduce__()[1]))
    # A variant's per-entity fields are indexed by G, P or M, maybe symbolic.
    extra = getattr(model.L, "extra", {})
    L.extra = {k: SymTable(v) if isinstance(v, list) else v for k, v in extra.items()}
    code = copy.copy(model.code)
    for name in ("ops", "args", "nextpc", "entry", "prog_of"):
        setattr(code, name, SymTable(getattr(model.code, name)))
    code.sema_names = NameTable(model.code.sema_names)
    sm.L, sm.code = L, code
    for name in dir(type(model)):
        if getattr(getattr(type(model), name, None), "foldable", False):
            setattr(sm, name, folding(getattr(sm, name)))
    sm._bind_steps()
    return sm


def _explained(*args, **kwargs):
    raise Explained


def symbolic_check(fn):
    """The property check `fn` with its module's constant sets and tuples made
    symbolic and its explanation helpers (specs.property.explanation) cut
    short: the path has failed the check once it asks why."""
    g = dict(fn.__globals__)
    mod = fn.__globals__
    for name, val in mod.items():
        if getattr(val, "explains_violation", False):
            g[name] = _explained
        elif isinstance(val, set | frozenset):
            g[name] = SymSet(val)
        elif isinstance(val, tuple) and val and all(isinstance(x, int) for x in val):
            g[name] = SymTuple(val)
        elif isinstance(val, list | tuple) and val and all(isinstance(x, str) for x in val):
            g[name] = NameTable(val)
    for name, val in mod.items():
        if isinstance(val, types.FunctionType) and val.__globals__ is mod and name in g:
            if g[name] is val:
                f = types.FunctionType(val.__code__, g, name, val.__defaults__, val.__closure__)
                g[name] = folding(f) if getattr(val, "foldable", False) else f
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


# ---- commands -----------------------------------------------------------------------------

STEP, TRUNC, UNDEF = "step", "truncated", "undefined"


@dataclass
class Command:
    """One path of one actor's step: enabled where `guard` holds, it writes
    `effect` (slot -> new value) and does `action` (a template, with
    placeholders for the values of `exprs`; `label` is its text)."""

    actor: int
    pc: int
    kind: str  # STEP, TRUNC or UNDEF
    guard: Any
    effect: dict[int, Any]
    label: str = ""
    exprs: list = field(default_factory=list)
    action: Action | None = None
    why: str = ""
    # Where the step comes in Machine.actor_steps' list: (condition, position)
    # pairs, one per chooser option the command is taken with; where several
    # hold at once the smallest position counts (the options give the same
    # step). The compiled kernel orders an actor's steps by it, as the model does.
    order: list = field(default_factory=list)

    def action_on(self, state: bytes | list[int]) -> Action:
        """What the step does in `state`, as the model's step says it."""
        assert self.action is not None
        memo: dict = {}
        return fill(self.action, self.exprs, lambda e: evaluate(e, state, memo))

    def apply(self, state: bytes | list[int]) -> bytes:
        memo: dict = {}
        s = list(state)
        for k, e in self.effect.items():
            s[k] = evaluate(e, state, memo)
        return bytes(s)


@dataclass
class Relation:
    model: Any
    size: int
    domains: list[frozenset[int]]
    commands: list[Command]  # every path, STEP ones first
    steps: list[Command]
    truncated: list[Command]
    undefined: list[Command]
    bad: dict[str, Any]  # property id -> formula over x (and x' = var(size + k))
    bad_undefined: dict[str, Any]  # property id -> where the check itself fails
    final: Any  # model.is_final: a normal end
    build_s: float
    paths: dict[str, int]  # where the paths are: "actor pc" / property -> count

    def undefined_guards(self) -> list:
        return [c.guard for c in self.undefined]


def _option_key(opt: Any) -> Any:
    if isinstance(opt, tuple):
        return tuple(_option_key(x) for x in opt)
    if type(opt) is Sym or type(opt) is SymBool:
        return ("sym", opt.e.hid)
    return opt


def _actor_commands(sm, a: int, pc: int, know: Knowledge, base: list) -> list[Command]:
    """The guarded commands of actor a at pc: the chooser's paths give the
    options (with the condition under which each is offered), then the
    step's paths for each option."""
    L = sm.L
    fn, chooser = sm._dispatch[pc]

    def choose():
        assume(isin(var(L.throw), frozenset((0,))))
        assume(isin(var(L.pc[a]), frozenset((pc,))))
        return [None] if chooser is None else list(chooser(SymState(base), a))

    cmds: list[Command] = []
    chosen = enumerate_paths(choose, know)
    undefined = fold_paths(chosen, lambda r: r.kind == UNDEFINED, BOOL)
    if undefined not in (False, DONT_CARE):
        why = next(r.why for r in chosen if r.kind == UNDEFINED)
        cmds.append(Command(a, pc, UNDEF, undefined, {}, why=why))
    offered: dict[Any, tuple[Any, list]] = {}  # option -> (option, chooser paths)
    for r in chosen:
        if r.kind == OK:
            for opt in r.value:
                offered.setdefault(_option_key(opt), (opt, []))[1].append(r)
    # Paths that do the same thing (same effect, same label) are one command,
    # whatever option led there.
    merged: dict[tuple, Command] = {}
    guards: dict[tuple, list] = {}
    for opt, rs in offered.values():
        key_o = _option_key(opt)
        when = fold_paths(
            chosen,
            lambda r, key_o=key_o: r.kind == OK and any(_option_key(o) == key_o for o in r.value),
            BOOL,
        )
        position = fold_paths(chosen, lambda r, key_o=key_o: _position(r, key_o), INT)
        k0 = rs[0].know.meet([r.know for r in rs[1:]])
        ran = enumerate_paths(lambda opt=opt: _run_step(sm, fn, base, a, pc, opt), k0)  # type: ignore[misc]
        keys = {id(r): _command_key(r, base) for r in ran}
        for key in dict.fromkeys(k for k in keys.values() if k is not None):
            if key not in merged:
                first = next(r for r in ran if keys[id(r)] == key)
                merged[key] = _command(a, pc, first, base)
                guards[key] = []
            here = fold_paths(ran, lambda r, key=key, keys=keys: keys[id(r)] == key, BOOL)
            guards[key].append(and_(when, here))
            merged[key].order.append((and_(when, here), _care(position)))
    for key, cmd in merged.items():
        cmd.guard = or_(*guards[key])
        cmds.append(cmd)
    return cmds


def _position(r, key_o: Any) -> Any:
    """Where option key_o comes in the chooser's list on path r."""
    if r.kind != OK:
        return DONT_CARE
    for i, o in enumerate(r.value):
        if _option_key(o) == key_o:
            return i
    return DONT_CARE


def _command_key(r, base: list) -> tuple | None:
    """What a step path does: paths with one key are one command."""
    if r.kind == UNDEFINED:
        return (UNDEF, r.why)
    if r.kind != OK:
        return None
    label, after = r.value
    if label is TRUNCATED:
        return (TRUNC,)
    effect = tuple((k, e) for k, e in enumerate(after) if e is not base[k])
    return (STEP, _label_key(str(label), r.exprs), effect)


def _command(a: int, pc: int, r, base: list) -> Command:
    if r.kind == UNDEFINED:
        return Command(a, pc, UNDEF, False, {}, why=r.why)
    label, after = r.value
    if label is TRUNCATED:
        return Command(a, pc, TRUNC, False, {})
    effect = {k: e for k, e in enumerate(after) if e is not base[k]}
    return Command(a, pc, STEP, False, effect, str(label), r.exprs, label)


def _run_step(sm, fn, base: list, a: int, pc: int, opt: Any) -> tuple[Action, list]:
    """One step, as Machine.actor_steps runs it (a queue error is a throw);
    its action a template on this path."""
    s = SymState(base)
    try:
        action = fn(s, a, opt)
    except QueueError as e:
        s = SymState(base)
        action = sm.queue_throw(s, a, pc, e)
    return (action if action is TRUNCATED else template(action)), s.v


def _label_key(label: str, exprs: list) -> str:
    """The label template with each placeholder named by its expression."""
    if "\x00" not in label:
        return label
    parts = label.split("\x00")
    for i in range(1, len(parts), 2):
        e, kind = exprs[int(parts[i])]
        parts[i] = f"{kind}:{e.hid if hasattr(e, 'hid') else e!r}"
    return "\x00".join(parts)


def _property_bad(sm, prop: Property, know: Knowledge, size: int) -> tuple[Any, Any, int]:
    check = symbolic_check(prop.check)
    x = [var(k) for k in range(size)]
    if prop.kind == ACTION:
        y = [var(size + k) for k in range(size)]

        def run():
            return check(sm, SymState(x), "<step>", SymState(y))
    else:

        def run():
            return check(sm, SymState(x))

    paths = enumerate_paths(run, know)
    bad = fold_paths(
        paths, lambda r: r.kind == EXPLAINED or (r.kind == OK and r.value is not None), BOOL
    )
    undefined = fold_paths(paths, lambda r: r.kind == UNDEFINED, BOOL)
    return _care(bad), _care(undefined), len(paths)


def _care(e):
    return False if e is DONT_CARE else e


def _predicate(run, know: Knowledge) -> Any:
    """Where run() returns something true, as a formula."""
    paths = enumerate_paths(run, know)

    def leaf(r):
        if r.kind != OK:
            raise ValueError(f"the predicate fails on a path: {r.why}")
        v = r.value
        if type(v) is SymBool:
            return v.e
        if type(v) is Sym:
            return not_(isin(v.e, frozenset((0,))))
        return bool(v)

    return _care(fold_paths(paths, leaf, BOOL))


def build_relation(model, props: list[Property] | None = None, split: bool = False) -> Relation:
    t0 = time.perf_counter()
    clear_caches()
    L = model.L
    sm = symbolic_model(model)
    domains = field_domains(model)
    base = [var(k) for k in range(L.size)]
    know = Knowledge(domains)
    counts: dict[str, int] = {}
    cmds: list[Command] = []
    Mode.split = split
    try:
        for a in range(L.nA):
            for pc in sorted(domains[L.pc[a]]):
                if sm._dispatch[pc] is None:
                    continue
                got = _actor_commands(sm, a, pc, know, base)
                counts[f"{model.actor_names()[a]} {model.pc_name(pc)}"] = len(got)
                cmds.extend(got)
    finally:
        Mode.split = False
    know2 = Knowledge(domains + domains)
    bad, bad_undef = {}, {}
    for p in props if props is not None else properties_of(model):
        if p.kind not in (INVARIANT, ACTION) or p.check is None:
            continue
        bad[p.id], bad_undef[p.id], counts[p.id] = _property_bad(sm, p, know2, L.size)
    final = _predicate(lambda: sm.is_final(SymState([var(k) for k in range(L.size)])), know)
    steps = [c for c in cmds if c.kind == STEP]
    return Relation(
        model=model,
        size=L.size,
        domains=domains,
        commands=cmds,
        steps=steps,
        truncated=[c for c in cmds if c.kind == TRUNC],
        undefined=[c for c in cmds if c.kind == UNDEF],
        bad=bad,
        bad_undefined=bad_undef,
        final=final,
        build_s=time.perf_counter() - t0,
        paths=counts,
    )


_CACHE: dict[tuple, Relation] = {}


class RelationUnsupported(ValueError):
    """The symbolic engine cannot follow the model's code (a plug-in's step
    it has no symbolic form for, too many paths): a usage error, exit 2."""


def relation_for(model, props: list[Property] | None = None) -> Relation:
    """The relation of this model's configuration (built once, then cached)."""
    ids = tuple(sorted(p.id for p in (props or []) if p.check is not None))
    key = (type(model), model.cfg, model.workload.name, id(model.workload), ids)
    rel = _CACHE.get(key)
    if rel is None or rel.model.model_hash() != model.model_hash():
        wanted = [p for p in props or [] if p.check is not None]
        try:
            rel = build_relation(model, wanted)
        except (Unsupported, PathExplosion) as e:
            raise RelationUnsupported(
                f"the symbolic engine cannot follow {type(model).__name__}: {e}"
            ) from None
        except Exception as e:
            if getattr(model, "plugin", None) is None:
                raise
            raise RelationUnsupported(
                f"the symbolic engine cannot follow the plug-in {model.plugin['name']}: "
                f"{type(e).__name__}: {e}"
            ) from None
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = rel
    return rel
