"""Phase 3: rebuild the cohort's descendants outside the cohort that Phase 2 did not rebuild.

``fct_*`` tables hold stale aggregates of the cohort until re-run. Incremental
descendants get the same widened lookback as Phase 2, so they re-read the refilled days.
"""

from __future__ import annotations

from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_statement
from refill.phases.lineage import lookback_runs, step_keys

PHASE = "phase3"


def rebuild(ctx: RunContext, run_vars: dict) -> dict:
    plan = ctx.plan
    print(f"[phase3] {len(plan.downstream_models)} descendant(s) of tag:{plan.settings.tag}", flush=True)
    ctx.session.invoke(["run", "--select", *plan.downstream_models], manifest=ctx.manifest, vars=run_vars)
    return {"models": list(plan.downstream_models), "vars": run_vars}


def steps(plan: RefillPlan) -> list[Step]:
    if not plan.downstream_models:
        return []
    runs = lookback_runs(plan.window, plan.months_per_run)
    return [
        Step(
            key=key,
            phase=PHASE,
            title=f"rebuild {len(plan.downstream_models)} descendant(s) of the cohort",
            statements=(run_statement(("--select", *plan.downstream_models), run_vars),),
            action=lambda ctx, run_vars=run_vars: rebuild(ctx, run_vars),
        )
        for key, run_vars in zip(step_keys(PHASE, runs), runs)
    ]
