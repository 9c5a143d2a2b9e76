"""Compile a generated kernel with the system C compiler and load it (cffi).

A kernel is specific to a model configuration. It is cached on disk by a
key over everything it is generated from: the source of every class of the
model (mutations and plug-ins included), the model, specs, symbolic-engine
and kernel sources, the configuration, the workload's compiled programs,
the properties checked and the compiler's version. A cached kernel is
loaded without building the relation again.

The cache lives in $GMPCHECK_CACHE, else $XDG_CACHE_HOME/gmpcheck, else
~/.cache/gmpcheck. Entries are written to a temporary name and renamed, so
concurrent runs never see half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
# The sources a kernel is generated from, beyond the model's own classes
# (of this directory, only the generator, the engine and the build).
SOURCE_DIRS = [ROOT / "model", ROOT / "specs", ROOT / "checker" / "smt", HERE]
KERNEL_SOURCES = {"codegen.py", "ctables.py", "build.py", "engine.c", "engine_head.h"}

CDEF = """
typedef struct eng eng_t;
eng_t *eng_new(int macro, int graph, int symmetry, int exact, int nworkers);
void eng_free(eng_t *e);
int64_t eng_add_initial(eng_t *e, const uint8_t *s);
int64_t eng_next_level(eng_t *e);
int eng_phase_a(eng_t *e, int wi, int64_t start, int64_t count, int expand,
                uint64_t inv_active, uint64_t act_active, int deadlock_active);
int64_t eng_phase_b(eng_t *e, int wi, int64_t start, int depth, int64_t max_states);
void eng_stats(eng_t *e, int64_t *out);
void eng_memory(eng_t *e, int64_t *out);
int eng_violation_inv(eng_t *e, int b, int64_t *idx, int64_t *depth);
int eng_violation_act(eng_t *e, int b, int64_t *idx, int64_t *depth, uint8_t *next);
int eng_violation_dead(eng_t *e, int64_t *idx, int64_t *depth);
uint32_t *eng_parent(eng_t *e);
uint64_t *eng_table_fp(eng_t *e);
uint32_t *eng_table_idx(eng_t *e);
uint64_t *eng_row(eng_t *e);
int64_t eng_nrow(eng_t *e);
uint32_t *eng_col(eng_t *e);
uint32_t *eng_elab(eng_t *e);
uint64_t *eng_atoms(eng_t *e);
uint64_t *eng_strong(eng_t *e);
uint8_t *eng_flags(eng_t *e);
uint8_t *eng_states(eng_t *e);
void eng_coverage(eng_t *e, uint64_t *out);
void eng_cuts(eng_t *e, uint64_t *out);
int64_t eng_graph_finish(eng_t *e, const uint64_t *label_groups, int64_t nlabels);
uint64_t *eng_egroups(eng_t *e);
int eng_label(eng_t *e, int64_t id, char *buf, int cap, int *actor);
int eng_label_key(eng_t *e, int64_t id, int64_t *out, int cap);
int eng_set_frontier(eng_t *e, const uint8_t *states, int64_t n);
void eng_wk_counts(eng_t *e, int wi, int64_t *out);
void eng_wk_states(eng_t *e, int wi, uint64_t *inv, uint32_t *ncand, uint32_t *nact,
                   uint8_t *flags);
uint64_t *eng_wk_cfp(eng_t *e, int wi);
uint8_t *eng_wk_cst(eng_t *e, int wi);
int *eng_wk_act_bit(eng_t *e, int wi);
uint8_t *eng_wk_act_st(eng_t *e, int wi);
int eng_visit_batch(eng_t *e, const uint64_t *fps, const uint8_t *states, int64_t n,
                    uint8_t *is_new);
int eng_save(eng_t *e, const char *path, int64_t n_states, int64_t n_row, int64_t n_edges,
             int64_t zero_from);
int eng_load(eng_t *e, const char *path);
void eng_restore_counts(eng_t *e, const int64_t *counts, const uint64_t *cover,
                        const uint64_t *cut);
int k_size(void);
int k_ncmd(void);
int k_ninv(void);
int k_nact(void);
void k_canonical(const uint8_t *t, uint8_t *out);
uint64_t k_fingerprint(const uint8_t *t);
int k_successors(eng_t *e, const uint8_t *t, uint8_t *out, int *actor, int64_t *label, int cap,
                 int *truncated);
uint64_t k_inv(const uint8_t *t, int *err);
uint64_t k_act(const uint8_t *t, const uint8_t *u, int *err);
uint64_t k_atoms(const uint8_t *t);
uint64_t k_strong(const uint8_t *t, int *err);
int k_final(const uint8_t *t);
"""

_FFI: Any = None


def ffi() -> Any:
    global _FFI
    if _FFI is None:
        import cffi

        f = cffi.FFI()
        f.cdef(CDEF)
        _FFI = f
    return _FFI


class BuildError(Exception):
    """The kernel could not be generated or compiled; the message says why."""


@dataclass
class Kernel:
    lib: Any
    meta: dict
    path: Path
    built_s: float = 0.0  # time spent generating and compiling (0: from the cache)


def cache_dir() -> Path:
    env = os.environ.get("GMPCHECK_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "gmpcheck"


def compiler() -> str | None:
    for name in (os.environ.get("CC") or "", "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


_CC_VERSION: dict[str, str] = {}


def _compiler_version(cc: str) -> str:
    got = _CC_VERSION.get(cc)
    if got is None:
        try:
            out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
            got = out.stdout.splitlines()[0] if out.stdout else cc
        except (OSError, subprocess.SubprocessError):
            got = cc
        _CC_VERSION[cc] = got
    return got


def _class_sources(model: Any) -> list[bytes]:
    out = []
    for klass in type(model).__mro__:
        if klass is object:
            continue
        try:
            path = inspect.getsourcefile(klass)
        except TypeError:
            path = None
        if path and os.path.exists(path):
            out.append(Path(path).read_bytes())
        else:
            out.append(repr(klass).encode())
    return out


# Optimisation levels of the generated code: "quick" compiles about four
# times faster, "fast" runs about twice as fast (the engine is always -O2).
LEVELS = {"quick": "-O0", "fast": "-O1"}
CACHE_ENTRIES = 64  # kernels kept; the least recently used go first


def kernel_key(
    model: Any, prop_ids: list[str], cc: str, level: str = "fast", fault: int | None = None
) -> str:
    h = hashlib.sha256()
    h.update(f"{level} {fault}".encode())
    for d in SOURCE_DIRS:
        for p in sorted(d.glob("*")):
            if p.suffix in (".py", ".c", ".h") and (d != HERE or p.name in KERNEL_SOURCES):
                h.update(p.name.encode())
                h.update(p.read_bytes())
    for src in _class_sources(model):
        h.update(src)
    h.update(type(model).__qualname__.encode())
    # Fine and macro steps share a kernel: the engine follows macro steps
    # itself, the generated code is the same.
    cfg = {k: v for k, v in model.cfg.as_dict().items() if k != "steps"}
    h.update(json.dumps(cfg, sort_keys=True).encode())
    code = model.code
    for name in sorted(vars(code)):
        h.update(name.encode())
        h.update(repr(getattr(code, name)).encode())
    h.update(repr(sorted(prop_ids)).encode())
    h.update(_compiler_version(cc).encode())
    h.update(sys.version.encode())
    h.update(os.environ.get("GMPCHECK_CFLAGS", "").encode())
    return h.hexdigest()[:24]


def load(path: Path) -> Any:
    return ffi().dlopen(str(path))


def compile_sources(sources: dict[str, str], out: Path, cc: str, level: str = "fast") -> None:
    """Compile the generated files (in parallel, one compiler per CPU) and
    link them into `out`; the sources are kept beside it, to read."""
    flags = os.environ.get("GMPCHECK_CFLAGS", "").split()
    base = [cc, "-std=gnu11", "-fPIC", "-fvisibility=hidden", "-w", "-I", str(HERE)]
    with tempfile.TemporaryDirectory(prefix="gmpcheck-kernel-") as tmp:
        jobs = []
        for name, text in sources.items():
            (Path(tmp) / name).write_text(text)
            if name.endswith(".c"):
                # The engine is small and hot: -O2. The generated code is
                # large straight-line code, where -O1 compiles several
                # times faster for a few per cent of run time.
                opt = flags or (["-O2"] if name == "engine_main.c" else [LEVELS[level]])
                obj = Path(tmp) / (name[:-2] + ".o")
                jobs.append((base + opt + ["-c", "-o", str(obj), str(Path(tmp) / name)], obj))
        so = Path(tmp) / "kernel.so"
        objs = [str(obj) for _, obj in jobs]
        _run_all([cmd for cmd, _ in jobs])
        _run_all([[cc, "-shared", "-o", str(so), *objs, "-lpthread"]])
        out.parent.mkdir(parents=True, exist_ok=True)
        src_dir = out.with_suffix(".src")
        tmp_src = out.with_name(out.stem + f".src.{os.getpid()}.tmp")
        try:  # the sources are kept to be read; another run may be writing them too
            shutil.copytree(tmp, tmp_src, ignore=shutil.ignore_patterns("*.o", "*.so"))
            shutil.rmtree(src_dir, ignore_errors=True)
            os.replace(tmp_src, src_dir)
        except OSError:
            shutil.rmtree(tmp_src, ignore_errors=True)
        tmp_out = out.with_name(out.name + f".{os.getpid()}.tmp")
        shutil.copyfile(so, tmp_out)
        os.replace(tmp_out, out)


def _run_all(cmds: list[list[str]]) -> None:
    """Run the commands, as many at once as there are CPUs."""
    width = max(1, os.cpu_count() or 1)
    pending = list(cmds)
    running: list[subprocess.Popen] = []
    try:
        while pending or running:
            while pending and len(running) < width:
                running.append(
                    subprocess.Popen(
                        pending.pop(0), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    )
                )
            proc = running.pop(0)
            out, err = proc.communicate(timeout=1800)
            if proc.returncode != 0:
                first = (err or out or "").strip().splitlines()
                raise BuildError(f"the C compiler failed: {first[0] if first else proc.returncode}")
    except OSError as e:
        raise BuildError(f"the C compiler could not run: {e}") from None
    except subprocess.TimeoutExpired:
        raise BuildError("the C compiler took more than 30 minutes") from None
    finally:
        for proc in running:
            proc.kill()
            proc.wait()


def cached_kernel(model: Any, props: list) -> Kernel | None:
    """The kernel of this configuration from the cache, the faster level
    first, or None."""
    cc = compiler()
    if cc is None:
        return None
    ids = [p.id for p in props if getattr(p, "check", None) is not None]
    for level in ("fast", "quick"):
        so = cache_dir() / f"kernel-{kernel_key(model, ids, cc, level)}.so"
        got = _load_cached(so)
        if got is not None:
            return got
    return None


def _load_cached(so: Path) -> Kernel | None:
    meta_path = so.with_suffix(".json")
    if not (so.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        kernel = Kernel(load(so), meta, so)
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):
        os.utime(meta_path)  # recently used: kept longest
    return kernel


def build_kernel(
    model: Any,
    props: list,
    *,
    level: str = "fast",
    use_cache: bool = True,
    fault: int | None = None,
) -> Kernel:
    """The compiled kernel of `model` checking `props` (from the cache, or
    generated and compiled now). Raises BuildError with the reason. `fault`
    is the tests' seam (codegen.generate)."""
    from checker.kernel.codegen import GenerateError, generate
    from checker.smt.paths import PathExplosion, Unsupported
    from checker.smt.relation import relation_for

    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler (cc, gcc or clang) on PATH")
    wanted = [p for p in props if getattr(p, "check", None) is not None]
    key = kernel_key(model, [p.id for p in wanted], cc, level, fault)
    so = cache_dir() / f"kernel-{key}.so"
    meta_path = so.with_suffix(".json")
    if use_cache:
        got = _load_cached(so)
        if got is not None:
            return got
    start = time.perf_counter()
    try:
        rel = relation_for(model, wanted)
        gen = generate(model, rel, wanted, fault)
    except (GenerateError, Unsupported, PathExplosion) as e:
        raise BuildError(f"the model cannot be compiled: {e}") from None
    try:
        compile_sources(gen.sources, so, cc, level)
    except OSError as e:
        raise BuildError(f"the kernel cache {cache_dir()} cannot be written: {e}") from None
    meta = {
        "key": key,
        "level": level,
        "size": model.L.size,
        "commands": gen.commands,
        "invariants": gen.invariants,
        "actions": gen.actions,
        "groups": gen.n_groups,
    }
    tmp_meta = meta_path.with_name(meta_path.name + f".{os.getpid()}.tmp")
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_meta, meta_path)
    _evict()
    return Kernel(load(so), meta, so, time.perf_counter() - start)


def _evict() -> None:
    """Keep the CACHE_ENTRIES most recently used kernels."""
    try:
        metas = sorted(cache_dir().glob("kernel-*.json"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for meta in metas[:-CACHE_ENTRIES]:
        for path in (meta, meta.with_suffix(".so")):
            with contextlib.suppress(OSError):
                path.unlink()
        shutil.rmtree(meta.with_suffix(".src"), ignore_errors=True)
