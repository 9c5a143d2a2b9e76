"""C source for one model configuration, generated from its symbolic relation.

The relation (checker/smt/relation.py) is the model's own step methods run
over symbolic states: for every actor and program counter, guarded commands
(a guard, the bytes written as expressions of the old state, a label
template, and the position the model's chooser gives the step). Here each
(actor, pc) becomes one C function: it evaluates the guards' expression DAG
once, node by node in creation order (children first, shared nodes once),
and for each enabled command writes the successor, its label's values and
its position. Nothing is expanded into trees: a node is one local variable.

Evaluation is eager: both sides of an if-then-else are computed, so a
lookup (`sel`) whose index is outside its keys, or a division by zero, can
happen on the side not taken; they give 0 there and the side is discarded.
On the side taken they cannot happen: the relation proved every index it
looks up is one of the keys under the path's knowledge and the field
types, and the kernel checks every byte a command writes against its type
(a byte out of type stops the compiled search, which then falls back to
the Python steps).

The same goes for the properties (`bad` formulas), the end states, the
liveness atoms (specs/liveness.py atom_predicates) and the strong fairness
groups enabled in a state (the model's state_groups). The layout constants
and the symmetry's field kinds come from the model; the engine around them
is hand-written (engine.c).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checker.kernel.actions import action_entry
from checker.kernel.ctables import domain_tables, label_tables, layout_defines
from checker.smt.expr import BOOL, INT, Node, var
from checker.smt.fold import DONT_CARE, fold_paths
from checker.smt.knowledge import Knowledge
from checker.smt.paths import OK, enumerate_paths
from checker.smt.relation import STEP, TRUNC, UNDEF, Relation, _predicate, symbolic_model
from checker.smt.symbolic import Sym, SymBool, SymState
from specs.property import ACTION, INVARIANT, Property


class GenerateError(Exception):
    """The model (or a plug-in) uses something the generator cannot render."""


# The generated step functions go into C files of about this many characters.
PART_SIZE = 400_000

# Error bits the generated code sets (engine.c reports them).
ERR_UNDEFINED = 1  # a step the Python model would fail on (relation.UNDEF)
ERR_RANGE = 2  # a command wrote a byte outside its field's type
ERR_CHECK = 4  # a property check the Python model would fail on

INCLUDE = '#include "kernel.h"\n'

# What engine.c calls of the generated half (besides the step functions).
ENTRY_DECLS = (
    "void actor_steps(const uint8_t *restrict x, int a, stepbuf_t *restrict o);",
    "uint64_t bad_inv(const uint8_t *x, uint64_t active, int *err);",
    "uint64_t bad_act(const uint8_t *x, const uint8_t *y, uint64_t active, int *err);",
    "int is_final(const uint8_t *x);",
    "uint64_t atoms_of(const uint8_t *x);",
    "uint64_t state_groups(const uint8_t *x, int *err);",
)


@dataclass
class Generated:
    # File name -> C text: kernel.h (layout, tables, declarations), the
    # generated steps and checks in parts (compiled at -O1, in parallel:
    # plain straight-line code, large), and engine_main.c (the hand-written
    # engine around them, compiled at -O2).
    sources: dict[str, str]
    commands: list[dict]  # per command id: actor, pc, procedure name
    invariants: list[str]  # property ids, bit i of bad_inv
    actions: list[str]  # property ids, bit i of bad_act
    n_groups: int = 0
    stats: dict = field(default_factory=dict)


class _Emitter:
    """Renders expression nodes as C locals, sharing each node once per scope."""

    def __init__(self, size: int):
        self.size = size
        self.sets: dict[frozenset, int] = {}

    def atom(self, a: Any) -> str:
        if type(a) is Node:
            return f"n{a.hid}"
        if a is True:
            return "1"
        if a is False:
            return "0"
        if isinstance(a, int):
            return f"{int(a)}LL"
        raise GenerateError(f"a constant the generator cannot render: {a!r}")

    def closure(self, roots: list[Any], have: set[int]) -> list[Node]:
        """The nodes under roots not in `have`, children first."""
        out: dict[int, Node] = {}
        stack = [r for r in roots if type(r) is Node]
        while stack:
            n = stack.pop()
            if n.hid in have or n.hid in out:
                continue
            out[n.hid] = n
            for a in n.args:
                if type(a) is Node:
                    stack.append(a)
                elif type(a) is tuple:
                    stack.extend(b for b in a if type(b) is Node)
        return [out[h] for h in sorted(out)]

    def define(self, n: Node) -> str:
        return f"int64_t n{n.hid} = {self.expr(n)};"

    def expr(self, n: Node) -> str:
        op, args = n.op, n.args
        A = self.atom
        if op == "var":
            k = args[0]
            return f"x[{k}]" if k < self.size else f"y[{k - self.size}]"
        if op == "ite":
            return f"({A(args[0])} ? {A(args[1])} : {A(args[2])})"
        if op == "sel":
            idx, keys, vals = args
            i = A(idx)
            out = "0LL"
            for k, v in reversed(list(zip(keys, vals, strict=True))):
                out = f"({i} == {int(k)}LL ? {A(v)} : {out})"
            return out
        if op == "count":
            return "(" + " + ".join(f"({A(c)} != 0)" for c in args) + ")"
        if op in ("add", "sub", "mul", "band", "bor", "bxor"):
            sym = {"add": "+", "sub": "-", "mul": "*", "band": "&", "bor": "|", "bxor": "^"}[op]
            return f"({A(args[0])} {sym} {A(args[1])})"
        if op in ("div", "mod", "shl", "shr"):
            return f"py_{op}({A(args[0])}, {A(args[1])})"
        if op == "isin":
            e, s = args
            v = A(e)
            vals = sorted(s)
            if len(vals) <= 3:
                return "(" + " || ".join(f"{v} == {int(c)}LL" for c in vals) + ")"
            if all(0 <= c < 256 for c in vals):
                sid = self.sets.setdefault(frozenset(vals), len(self.sets))
                return f"in_set({v}, SET{sid})"
            return "(" + " || ".join(f"{v} == {int(c)}LL" for c in vals) + ")"
        if op == "eq":
            return f"({A(args[0])} == {A(args[1])})"
        if op == "lt":
            return f"({A(args[0])} < {A(args[1])})"
        if op == "le":
            return f"({A(args[0])} <= {A(args[1])})"
        if op == "not":
            return f"(!{A(args[0])})"
        if op == "and":
            return "(" + " && ".join(A(c) for c in args) + ")"
        if op == "or":
            return "(" + " || ".join(A(c) for c in args) + ")"
        raise GenerateError(f"an expression the generator cannot render: {op}")

    def set_tables(self) -> list[str]:
        out = []
        for s, sid in sorted(self.sets.items(), key=lambda kv: kv[1]):
            words = [0, 0, 0, 0]
            for c in s:
                words[c >> 6] |= 1 << (c & 63)
            body = ", ".join(f"0x{w:016x}ULL" for w in words)
            out.append(f"static const uint64_t SET{sid}[4] = {{{body}}};")
        return out


def _int_expr(run, know: Knowledge) -> tuple[Any, Any]:
    """What run() returns, as one integer expression over the state, and
    where run() itself fails (as the Python code would: an index out of
    range...), as a formula."""
    from checker.smt.expr import b2i
    from checker.smt.paths import UNDEFINED

    paths = enumerate_paths(run, know)

    def leaf(r):
        if r.kind != OK:
            return DONT_CARE
        v = r.value
        if type(v) is Sym:
            return v.e
        if type(v) is SymBool:
            return b2i(v.e)
        return int(v)

    got = fold_paths(paths, leaf, INT)
    undefined = fold_paths(paths, lambda r: r.kind == UNDEFINED, BOOL)
    value = 0 if got is DONT_CARE else got
    return value, False if undefined is DONT_CARE else undefined


def _group_function(
    em: _Emitter, a: int, pc: int, cmds: list, cmd_ids: dict[int, int], fault: int | None = None
) -> str:
    """One actor at one program counter: its guards, then its enabled commands."""
    guard_roots = [c.guard for c in cmds]
    have: set[int] = set()
    body = []
    for n in em.closure(guard_roots, have):
        body.append("    " + em.define(n))
        have.add(n.hid)
    # Nodes that two or more commands' effects share are computed once, here:
    # the commands of a loop over the Ps (sysmon's retake) differ in a few
    # conditions and share most of what they write.
    uses: dict[int, int] = {}
    for c in cmds:
        if c.kind != STEP:
            continue
        roots = list(c.effect.values()) + [x for pair in c.order for x in pair]
        for n in em.closure(roots, have):
            uses[n.hid] = uses.get(n.hid, 0) + 1
    shared_roots = []
    for c in cmds:
        if c.kind == STEP:
            shared_roots += [e for e in c.effect.values() if type(e) is Node]
            shared_roots += [x for pair in c.order for x in pair if type(x) is Node]
    for n in em.closure(shared_roots, have):
        if uses.get(n.hid, 0) > 1:
            body.append("    " + em.define(n))
    have |= {h for h, k in uses.items() if k > 1}
    for c in cmds:
        g = em.atom(c.guard)
        if c.kind == TRUNC:
            body.append(f"    if ({g}) o->truncated = 1;")
            continue
        if c.kind == UNDEF:
            body.append(f"    if ({g}) o->err |= {ERR_UNDEFINED};")
            continue
        cid = cmd_ids[id(c)]
        roots = list(c.effect.values())
        for cond, pos in c.order:
            roots += [cond, pos]
        label_roots = [e for e, _ in c.exprs]
        inner = []
        local = set(have)
        for n in em.closure(roots, local):
            inner.append("        " + em.define(n))
            local.add(n.hid)
        inner.append(f"        uint8_t *u = step_begin(o, x, {cid});")
        for i, (k, e) in enumerate(sorted(c.effect.items())):
            value = em.atom(e)
            if cid == fault and i == 0:
                value = f"({value} ^ 1)"  # the test seam: a wrong expression, on purpose
            inner.append(f"        step_write(o, u, {k}, {value});")
        order_terms = []
        for cond, pos in c.order:
            order_terms.append(f"        if ({em.atom(cond)}) pos = min64(pos, {em.atom(pos)});")
        inner.append("        int64_t pos = INT64_MAX;")
        inner += order_terms
        inner.append("        if (o->want_labels) {")
        lab_nodes = em.closure(label_roots, local)
        for n in lab_nodes:
            inner.append("            " + em.define(n))
        holes = c.label.split("\x00")[1::2]
        for i, h in enumerate(holes):
            e, _ = c.exprs[int(h)]
            inner.append(f"            o->vals[o->n][{i}] = {em.atom(e)};")
        inner.append("        }")
        inner.append("        step_end(o, pos);")
        body.append(f"    if ({g}) {{")
        body += inner
        body.append("    }")
    return _group_signature(a, pc) + " {\n" + "\n".join(body) + "\n}\n"


def _bool_function(em: _Emitter, name: str, formula: Any, params: str) -> str:
    nodes = em.closure([formula], set())
    body = ["    " + em.define(n) for n in nodes]
    body.append(f"    return {em.atom(formula)} ? 1 : 0;")
    return f"static int {name}({params}) {{\n" + "\n".join(body) + "\n}\n"


def _int_function(em: _Emitter, name: str, e: Any, params: str) -> str:
    nodes = em.closure([e], set())
    body = ["    " + em.define(n) for n in nodes]
    body.append(f"    return (uint64_t){em.atom(e)};")
    return f"static uint64_t {name}({params}) {{\n" + "\n".join(body) + "\n}\n"


def generate(model, rel: Relation, props: list[Property], fault: int | None = None) -> Generated:
    """The C source of the model-specific half of the kernel. `fault` is a
    seam for the tests: the first byte command number `fault` writes is
    computed wrong (its lowest bit flipped), which the comparison with the
    Python model must notice."""
    # One emitter for every function, in this order: the set tables it
    # collects go into the header, numbered as they were first met.
    em = _Emitter(model.L.size)
    cmd_ids = {id(c): i for i, c in enumerate(rel.steps)}
    by_group: dict[tuple[int, int], list] = {}
    for c in rel.commands:
        by_group.setdefault((c.actor, c.pc), []).append(c)
    funcs = [
        _group_function(em, a, pc, cmds, cmd_ids, fault)
        for (a, pc), cmds in sorted(by_group.items())
    ]
    max_group = max([1, *(sum(1 for c in cmds if c.kind == STEP) for cmds in by_group.values())])
    invariants = [p for p in props if p.kind == INVARIANT and p.id in rel.bad]
    actions = [p for p in props if p.kind == ACTION and p.id in rel.bad]
    if len(invariants) > 64 or len(actions) > 64:
        raise GenerateError("more than 64 properties of one kind")
    checks = _property_checks(em, rel, invariants, actions) + _model_checks(em, model, rel)
    label_lines, max_vals = label_tables(rel, cmd_ids)
    header = [
        "/* Generated from the model's symbolic relation (checker/kernel/codegen.py). */",
        "#include <stdint.h>",
        *layout_defines(model),
        f"#define NCMD {len(rel.steps)}",
        f"#define MAXFINE {max_group}",
        f"#define MAXV {max(1, max_vals)}",
        f"#define N_INV {len(invariants)}",
        f"#define N_ACT {len(actions)}",
        *domain_tables(rel),
        *em.set_tables(),
        '#include "engine_head.h"',
        *ENTRY_DECLS,
        *(f"{_group_signature(a, pc)};" for (a, pc) in sorted(by_group)),
    ]
    sources = {"kernel.h": "\n".join(header) + "\n"}
    for i, part in enumerate(_parts(funcs)):
        sources[f"steps{i}.c"] = INCLUDE + "\n".join(part)
    actor_steps = _actor_steps(model.L, sorted(by_group))
    sources["checks.c"] = INCLUDE + actor_steps + "\n" + "\n".join(checks)
    cmd_actor = ", ".join(str(c.actor) for c in rel.steps) or "0"
    engine_main = [
        INCLUDE,
        f"static const int CMD_ACTOR[{max(1, len(rel.steps))}] = {{{cmd_actor}}};",
        *label_lines,
        '#include "engine.c"',
    ]
    sources["engine_main.c"] = "\n".join(engine_main) + "\n"
    return Generated(
        sources=sources,
        commands=[_command_entry(model, c) for c in rel.steps],
        invariants=[p.id for p in invariants],
        actions=[p.id for p in actions],
        n_groups=len(by_group),
        stats={"nodes": sum(line.count("int64_t n") for line in funcs)},
    )


def _group_signature(a: int, pc: int) -> str:
    return f"void grp_a{a}_pc{pc}(const uint8_t *restrict x, stepbuf_t *restrict o)"


def _actor_steps(L: Any, groups: list[tuple[int, int]]) -> str:
    """actor_steps: an actor's step function at its program counter."""
    dispatch = []
    for a in range(L.nA):
        cases = [
            f"        case {pc}: grp_a{a}_pc{pc}(x, o); break;" for (aa, pc) in groups if aa == a
        ]
        dispatch.append(f"    case {a}: switch (x[{L.pc[a]}]) {{\n" + "\n".join(cases))
        dispatch.append("        default: break;\n        } break;")
    return (
        "void actor_steps(const uint8_t *restrict x, int a, stepbuf_t *restrict o) {\n"
        "    switch (a) {\n" + "\n".join(dispatch) + "\n    default: break;\n    }\n}\n"
    )


def _property_checks(
    em: _Emitter, rel: Relation, invariants: list[Property], actions: list[Property]
) -> list[str]:
    """bad_inv and bad_act: each property's bad formula and where its check
    would fail in the Python model, one bit per property."""
    checks = []
    for i, p in enumerate(invariants):
        checks.append(_bool_function(em, f"inv_bad{i}", rel.bad[p.id], "const uint8_t *x"))
        checks.append(
            _bool_function(em, f"inv_undef{i}", rel.bad_undefined[p.id], "const uint8_t *x")
        )
    for i, p in enumerate(actions):
        params = "const uint8_t *x, const uint8_t *y"
        checks.append(_bool_function(em, f"act_bad{i}", rel.bad[p.id], params))
        checks.append(_bool_function(em, f"act_undef{i}", rel.bad_undefined[p.id], params))
    inv_calls = "\n".join(
        f"    if (active >> {i} & 1) {{ if (inv_undef{i}(x)) *err |= {ERR_CHECK}; "
        f"if (inv_bad{i}(x)) bad |= 1ULL << {i}; }}"
        for i in range(len(invariants))
    )
    act_calls = "\n".join(
        f"    if (active >> {i} & 1) {{ if (act_undef{i}(x, y)) *err |= {ERR_CHECK}; "
        f"if (act_bad{i}(x, y)) bad |= 1ULL << {i}; }}"
        for i in range(len(actions))
    )
    checks.append(
        "uint64_t bad_inv(const uint8_t *x, uint64_t active, int *err) {\n"
        f"    uint64_t bad = 0;\n{inv_calls}\n    return bad;\n}}\n"
    )
    checks.append(
        "uint64_t bad_act(const uint8_t *x, const uint8_t *y, uint64_t active, "
        f"int *err) {{\n    uint64_t bad = 0;\n{act_calls}\n    return bad;\n}}\n"
    )
    return checks


def _model_checks(em: _Emitter, model: Any, rel: Relation) -> list[str]:
    """End states, liveness atoms, strong groups enabled: the model's own
    code, run over a symbolic state."""
    from specs.liveness import atom_predicates

    L = model.L
    know = Knowledge(rel.domains)
    sm = symbolic_model(model)
    xs = [var(k) for k in range(L.size)]
    checks = [_bool_function(em, "is_final_of", rel.final, "const uint8_t *x")]
    checks.append("int is_final(const uint8_t *x) { return is_final_of(x); }\n")
    atom_fns = []
    for bit, holds in atom_predicates(sm):
        f = _predicate(lambda holds=holds: holds(SymState(xs)), know)
        atom_fns.append((bit, f))
    atom_lines = []
    for i, (bit, f) in enumerate(atom_fns):
        checks.append(_bool_function(em, f"atom{i}", f, "const uint8_t *x"))
        atom_lines.append(f"    if (atom{i}(x)) a |= 1ULL << {bit};")
    checks.append(
        "uint64_t atoms_of(const uint8_t *x) {\n    uint64_t a = 0;\n"
        + "\n".join(atom_lines)
        + "\n    return a;\n}\n"
    )
    if hasattr(model, "state_groups"):
        sg, sg_undef = _int_expr(lambda: sm.state_groups(SymState(xs)), know)
    else:
        sg, sg_undef = 0, False
    checks.append(_int_function(em, "state_groups_of", sg, "const uint8_t *x"))
    checks.append(_bool_function(em, "state_groups_undef", sg_undef, "const uint8_t *x"))
    checks.append(
        "uint64_t state_groups(const uint8_t *x, int *err) {\n"
        f"    if (state_groups_undef(x)) *err |= {ERR_CHECK};\n"
        "    return state_groups_of(x);\n}\n"
    )
    return checks


def _parts(funcs: list[str]) -> list[list[str]]:
    """The generated functions in parts of about PART_SIZE characters each."""
    parts: list[list[str]] = [[]]
    size = 0
    for f in funcs:
        if size > PART_SIZE:
            parts.append([])
            size = 0
        parts[-1].append(f)
        size += len(f)
    return parts


def _command_entry(model: Any, c: Any) -> dict:
    """What the kernel's metadata keeps of a command: who steps, where, and
    its Action's template."""
    return {
        "actor": c.actor,
        "pc": int(c.pc),
        "procedure": model.pc_name(c.pc),
        "action": action_entry(c.action, c.exprs) if c.action else None,
    }
