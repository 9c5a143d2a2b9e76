"""The compiled kernel: the model's steps, canonical form and properties in C.

`select_kernel` decides which kernel a run uses and says why in one line:
the compiled one where a C compiler exists and the model is one the
generator can render (checker/kernel/codegen.py), else the Python steps,
which stay the specification. A compiled kernel is checked against the
Python steps on the first states of the search before it is trusted, and a
compiled search that meets a state it cannot decide as the model would
(engine.c's error bits) is run again on the Python kernel: the fallback
costs time, never a wrong answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from specs import properties_of

KERNELS = ("auto", "compiled", "python")
SPOT_CHECK_STATES = 200


@dataclass
class KernelChoice:
    kernel: Any  # a build.Kernel, or None for the Python steps
    note: str  # one line: which kernel runs, and why


def unsupported_reason(model: Any, symmetry: bool = True) -> str | None:
    """Why the generator cannot render this model for a search with
    `symmetry` on or off, or None. The generator reads the step registry
    (Machine._dispatch); a model that replaces the machinery around it, or
    its own symmetry, is run on the Python steps."""
    from model.gmp import GMPModel
    from model.machine import Machine
    from model.state import Layout
    from model.symmetry import Symmetry

    klass = type(model)
    for name, owner in (
        ("successors", GMPModel),
        ("step_successors", Machine),
        ("actor_steps", Machine),
        ("canonical", GMPModel),
    ):
        if getattr(klass, name, None) is not getattr(owner, name):
            return f"the model replaces {name}()"
    if type(model.L) is not Layout:
        return "the model has its own state layout"
    if model.L.wide or model.normalize is not None or model.freeze is not bytes:
        return "the model encodes its states otherwise (the open world's)"
    sym = getattr(model, "symmetry", None) if symmetry else None
    if sym is not None and type(sym) is not Symmetry:
        return "the model has its own symmetry"
    if sym is not None and (sym.extra_g or sym.extra_p or sym.extra_m):
        per = sorted({f.scope for f in model.L.extra_fields if f.scope != "sched"})
        return (
            f"the variant adds per-{'/'.join(per)} state fields, which only the Python "
            "canonical form renames (--no-symmetry compiles it)"
        )
    return None


def kernel_properties(model: Any, props: list) -> list:
    """What a kernel checks: every property of the model with a check, and
    any other the run asks for, so that one kernel serves every run of a
    configuration whatever --property picks."""
    out = {p.id: p for p in properties_of(model) if getattr(p, "check", None) is not None}
    for p in props:
        if getattr(p, "check", None) is not None:
            out.setdefault(p.id, p)
    return list(out.values())


def requested_kernel(requested: str = "auto") -> str:
    """auto, unless $GMPCHECK_KERNEL says otherwise (compiled or python)."""
    if requested == "auto":
        env = os.environ.get("GMPCHECK_KERNEL", "auto")
        if env in KERNELS:
            return env
    return requested


class KernelUnavailable(ValueError):
    """`--kernel compiled` for a plug-in the compiled kernel cannot follow:
    refused with the reason (a usage error, exit 2)."""


def select_kernel(
    model: Any,
    props: list,
    requested: str = "auto",
    *,
    long_run: bool = False,
    strict: bool = False,
    symmetry: bool = True,
) -> KernelChoice:
    """The kernel a run uses, for searches with `symmetry` on or off. A
    kernel not in the cache is built: optimised ("fast") for a long run (an
    exhaustive search), else compiled quickly ("quick": a bounded search is
    over in seconds either way). With `strict`, a compiled kernel asked for
    and not available is refused (KernelUnavailable) rather than replaced by
    the Python steps."""
    choice = _select(model, props, requested, long_run, symmetry)
    if strict and choice.kernel is None and requested_kernel(requested) == "compiled":
        raise KernelUnavailable(f"--kernel compiled: {choice.note.removeprefix('python ')}")
    return choice


def _select(
    model: Any, props: list, requested: str, long_run: bool, symmetry: bool
) -> KernelChoice:
    if requested_kernel(requested) == "python":
        how = "--kernel python" if requested == "python" else "GMPCHECK_KERNEL=python"
        return KernelChoice(None, f"python (asked for with {how})")
    why = unsupported_reason(model, symmetry)
    if why is not None:
        return KernelChoice(None, f"python ({why}: the compiled kernel cannot follow it)")
    from checker.kernel.build import BuildError, build_kernel, cached_kernel, compiler

    if compiler() is None:
        return KernelChoice(None, "python (no C compiler: cc, gcc or clang, on PATH)")
    wanted = kernel_properties(model, props)
    k = cached_kernel(model, wanted)
    if k is None:
        try:
            k = build_kernel(model, wanted, level="fast" if long_run else "quick")
        except BuildError as e:
            return KernelChoice(None, f"python ({e})")
        except Exception as e:  # a plug-in's code the symbolic engine trips on
            if getattr(model, "plugin", None) is None:
                raise
            why = f"the symbolic engine cannot follow the plug-in: {type(e).__name__}: {e}"
            return KernelChoice(None, f"python ({why})")
    mismatch = spot_check(k, model, symmetry=symmetry)
    if mismatch is not None:
        return KernelChoice(
            None, f"python (the compiled kernel disagrees with the model: {mismatch})"
        )
    how = f"built in {k.built_s:.0f} s" if k.built_s else "cached"
    return KernelChoice(k, f"compiled ({k.meta.get('level', 'fast')}, {how}, {k.path.name})")


def spot_check(
    k: Any, model: Any, limit: int = SPOT_CHECK_STATES, *, symmetry: bool = True
) -> str | None:
    """Compare the compiled successors (states, actors, labels) and, with
    `symmetry`, canonical forms with the Python model's on the first `limit`
    states of a breadth-first search (with `symmetry` on or off); None if
    they agree, else where they do not."""
    from checker.engine.protocol import reduction
    from checker.kernel.diff import compare_state

    canonical = reduction(model, symmetry)
    seen: set[bytes] = set()
    todo = [canonical(s) for s in model.initial_states()]
    n = 0
    while todo and n < limit:
        t = todo.pop(0)
        if t in seen:
            continue
        seen.add(t)
        n += 1
        diff = compare_state(k, model, t, symmetry=symmetry)
        if diff is not None:
            return diff
        for _a, _label, u in model.successors(t)[0]:
            c = canonical(u)
            if c not in seen:
                todo.append(c)
    return None
