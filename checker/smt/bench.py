"""`python -m checker bench --smt CORES`: BMC time per depth and induction
time for the correct model, printed and added to reports/bench.json. Not
a test: nothing here asserts a time."""

from __future__ import annotations

import time

from model.config import Config
from model.factory import build_model
from specs import properties_of


def bench_smt(cores_list: list[int], depth: int, budget_s: float) -> list[dict]:
    """For each core count: the relation's build time, the time of each BMC
    depth (all safety properties), k = 1 induction, and BMC again assuming
    what the induction proved (`--lemmas`). A BMC run that passes `budget_s`
    stops at the depth it reached (the curve so far)."""
    from checker.smt.induction import proof_invariants, prove
    from checker.smt.relation import relation_for

    rows = []
    for cores in cores_list:
        model = build_model(Config(cores=cores), symmetry=False)
        props = [p for p in properties_of(model) if p.default and p.kind != "liveness"]
        rel = relation_for(model, props)
        build = rel.build_s
        print(f"relation cores {cores}: {len(rel.steps)} commands, {build:.1f} s", flush=True)
        plain, stopped = _bmc_curve("bmc", model, props, rel, depth, budget_s, True)
        t = time.perf_counter()
        proof = prove(model, proof_invariants(model), k=1)
        ind = time.perf_counter() - t
        print(
            f"induction cores {cores} k 1: {ind:.1f} s, {proof.rounds} rounds, "
            f"proved {', '.join(proof.proved) or 'nothing'}",
            flush=True,
        )
        strong, strong_stopped = _bmc_curve(
            "bmc --lemmas", model, props, rel, depth, budget_s, proof.lemmas
        )
        rows.append(
            {
                "cores": cores,
                "depth": depth,
                "relation_build_s": round(build, 3),
                "bmc_per_depth_s": [round(x, 3) for x in plain],
                "bmc_total_s": round(sum(plain), 3),
                "bmc_stopped": stopped,
                "induction_k1_s": round(ind, 3),
                "induction_proved": proof.proved,
                "bmc_lemmas_per_depth_s": [round(x, 3) for x in strong],
                "bmc_lemmas_total_s": round(sum(strong), 3),
                "bmc_lemmas_stopped": strong_stopped,
            }
        )
    return rows


def _bmc_curve(name: str, model, props, rel, depth: int, budget_s: float, lemmas):
    """One BMC run's seconds per depth, printed as they come, and why it stopped."""
    from checker.smt.bmc import run_bmc

    cores = model.cfg.cores
    start = time.perf_counter()
    per_depth: list[float] = []

    def show(d: int, secs: float) -> None:
        per_depth.append(secs)
        total = time.perf_counter() - start
        print(f"{name} cores {cores} depth {d}: {secs:.2f} s (total {total:.1f} s)", flush=True)
        if total > budget_s:
            raise _OverBudget

    try:
        stopped = run_bmc(model, props, depth, progress=show, rel=rel, lemmas=lemmas).stopped
    except _OverBudget:
        stopped = f"over the budget of {budget_s:g} s"
    return per_depth, stopped


def bench_wait(depths: list[int]) -> list[dict]:
    """The quantitative query (checker/smt/starvation.py) on GOMAXPROCS=1,
    workload yield-pair, period 2: with findRunnable's schedtick check (Go)
    and without it (the no-schedtick-check mutation), per depth; beside
    each, the same bound by the explicit search (checker/engine/waitbound.py)."""
    from checker.engine.waitbound import explicit_global_wait
    from checker.smt.starvation import max_global_wait

    rows = []
    for mutation in ("", "no-schedtick-check"):
        for depth in depths:
            cfg = Config(cores=1, workload="yield-pair", period=2, mutation=mutation)
            model = build_model(cfg, symmetry=False)
            t = time.perf_counter()
            got = max_global_wait(model, 0, depth)
            secs = time.perf_counter() - t
            ex = explicit_global_wait(model, 0, depth)
            who = mutation or "go1.25"
            print(
                f"global-queue wait {who} depth {depth}: at most {got.executes} executes "
                f"while G0 waits ({secs:.1f} s); explicit search: {ex.executes} "
                f"({ex.elapsed_s:.2f} s)",
                flush=True,
            )
            rows.append(
                {
                    "model": who,
                    "depth": depth,
                    "executes": got.executes,
                    "s": secs,
                    "explicit_executes": ex.executes,
                    "explicit_s": round(ex.elapsed_s, 3),
                }
            )
    return rows


class _OverBudget(Exception):
    pass
