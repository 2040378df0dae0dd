"""Phase 3: rebuild the cohort's descendants outside the cohort that Phase 2 did not rebuild.

``fct_*`` tables hold stale aggregates of the cohort until re-run. Incremental
descendants get the same widened lookback as Phase 2, so they re-read the refilled days.
"""

from __future__ import annotations

from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_statement
from refill.phases.lineage import lookback_vars

PHASE = "phase3"


def rebuild(ctx: RunContext) -> dict:
    plan = ctx.plan
    print(f"[phase3] {len(plan.downstream_models)} descendant(s) of tag:{plan.settings.tag}", flush=True)
    ctx.session.invoke(["run", "--select", *plan.downstream_models], manifest=ctx.manifest, vars=lookback_vars(plan))
    return {"models": list(plan.downstream_models)}


def steps(plan: RefillPlan) -> list[Step]:
    if not plan.downstream_models:
        return []
    return [
        Step(
            key="phase3",
            phase=PHASE,
            title=f"rebuild {len(plan.downstream_models)} descendant(s) of the cohort",
            statements=(run_statement(("--select", *plan.downstream_models), lookback_vars(plan)),),
            action=rebuild,
        )
    ]
