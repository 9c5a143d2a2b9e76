"""The compiled kernel against the Python model, on one state.

Everything the compiled search takes from the kernel is compared with what
the model's own Python code gives: the successors (actor, label, state, in
order), whether a bound cut a step, their canonical forms, the properties'
verdicts on the state and on each step, the end-state test, the liveness
atoms and the strong fairness groups enabled. Used before a compiled
kernel is trusted (select_kernel's spot check) and by the differential
tests over sampled reachable states.
"""

from __future__ import annotations

from typing import Any

from checker.engine.protocol import has_symmetry
from checker.kernel.actions import label_action
from checker.kernel.build import Kernel, ffi
from model.action import Action
from specs import properties_of
from specs.property import ACTION, INVARIANT

MAX_SUCCESSORS = 4096


def _scratch(k: Kernel, model: Any) -> Any:
    """An engine to intern labels in, kept with the kernel (one per mode)."""
    key = f"scratch-{int(model.macro)}"
    e = k.meta.get(key)
    if e is None:
        e = ffi().gc(k.lib.eng_new(int(model.macro), 1, 0, 0, 1), k.lib.eng_free)
        k.meta[key] = e
    return e


def compiled_successors(
    k: Kernel, model: Any, t: bytes
) -> tuple[list[tuple[int, Action, bytes]], bool]:
    """The compiled kernel's model.successors(t); ValueError when the label
    text its C tables render is not its action's text."""
    f = ffi()
    lib = k.lib
    size = k.meta["size"]
    e = _scratch(k, model)
    out = f.new("uint8_t[]", size * MAX_SUCCESSORS)
    actor = f.new("int[]", MAX_SUCCESSORS)
    label = f.new("int64_t[]", MAX_SUCCESSORS)
    trunc = f.new("int *")
    n = lib.k_successors(e, t, out, actor, label, MAX_SUCCESSORS, trunc)
    if n < 0:
        raise ValueError(f"the compiled kernel reports error bits {-1 - n}")
    if n > MAX_SUCCESSORS:
        raise ValueError(f"more than {MAX_SUCCESSORS} successors")
    buf = f.buffer(out)
    got = []
    text = f.new("char[]", 65536)
    who = f.new("int *")
    for j in range(n):
        lib.eng_label(e, label[j], text, 65536, who)
        _, action = label_action(lib, f, e, k.meta, int(label[j]))
        if f.string(text).decode() != str(action):
            raise ValueError(f"the C label {f.string(text).decode()!r} is not {str(action)!r}")
        u = bytes(buf[j * size : (j + 1) * size])
        got.append((int(actor[j]), action, u))
    return got, bool(trunc[0])


def canonical(k: Kernel, u: bytes) -> bytes:
    out = ffi().new("uint8_t[]", len(u))
    k.lib.k_canonical(u, out)
    return bytes(ffi().buffer(out))


def _dedup(steps: list) -> list:
    return list(dict.fromkeys(steps))


def compare_state(k: Kernel, model: Any, t: bytes, *, symmetry: bool = True) -> str | None:
    """None if the compiled kernel and the model agree on t, else what
    differs; with `symmetry`, their canonical forms are compared too (when
    the model has a symmetry)."""
    from specs.liveness import atoms

    f = ffi()
    lib = k.lib
    want, want_cut = model.successors(t)
    try:
        got, got_cut = compiled_successors(k, model, t)
    except ValueError as e:
        return f"state {t.hex()}: {e}"
    if _dedup(got) != _dedup(want):
        a = [(x, lab) for x, lab, _ in _dedup(want)]
        c = [(x, lab) for x, lab, _ in _dedup(got)]
        return f"successors of state {t.hex()}: model {a}, compiled {c}"
    if got_cut != want_cut:
        return f"state {t.hex()}: a bound cut a step: model {want_cut}, compiled {got_cut}"
    if symmetry and has_symmetry(model):
        for _a, _lab, u in want:
            if canonical(k, u) != model.canonical(u):
                return f"canonical form of state {u.hex()}"
    by_id = {p.id: p for p in properties_of(model)}
    err = f.new("int *")
    bits = lib.k_inv(t, err)
    if err[0]:
        return f"state {t.hex()}: a property check fails in the compiled kernel"
    for b, pid in enumerate(k.meta["invariants"]):
        p = by_id.get(pid)
        if p is None or p.kind != INVARIANT:
            continue
        if bool(bits >> b & 1) != (p.reason(model, t) is not None):
            return f"{pid} on state {t.hex()}"
    for _a, label, u in want:
        bits = lib.k_act(t, u, err)
        for b, pid in enumerate(k.meta["actions"]):
            p = by_id.get(pid)
            if p is None or p.kind != ACTION:
                continue
            if bool(bits >> b & 1) != (p.reason(model, t, label, u) is not None):
                return f"{pid} on the step {label!r} from state {t.hex()}"
    if bool(lib.k_final(t)) != bool(model.is_final(t)):
        return f"is_final on state {t.hex()}"
    if int(lib.k_atoms(t)) != atoms(model, t):
        return f"liveness atoms of state {t.hex()}"
    strong = getattr(model, "state_groups", None)
    if strong is not None and int(lib.k_strong(t, err)) != strong(t):
        return f"state_groups of state {t.hex()}"
    return None
