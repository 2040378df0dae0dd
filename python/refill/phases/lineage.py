"""Phase 2: every prices consumer outside the cohort re-pulls the widened lookback.

``apply_monthly_incremental_filter`` reads ``var('price_lookback_days')``, so one var
widens every consumer; lineage (``<prices model>+``) finds them, not a hand-kept tag.
"""

from __future__ import annotations

from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_statement

PHASE = "phase2"


def lookback_vars(plan: RefillPlan) -> dict[str, int]:
    return {"price_lookback_days": plan.window.lookback_days}


def re_pull(ctx: RunContext) -> dict:
    plan = ctx.plan
    print(f"[phase2] {' '.join(plan.lineage_selector)}  (price_lookback_days={plan.window.lookback_days})", flush=True)
    ctx.session.invoke(["run", *plan.lineage_selector], manifest=ctx.manifest, vars=lookback_vars(plan))
    return {"models": list(plan.lineage_models)}


def steps(plan: RefillPlan) -> list[Step]:
    if plan.skip_lineage or not plan.lineage_models:
        return []
    return [
        Step(
            key="phase2",
            phase=PHASE,
            title=f"re-pull {len(plan.lineage_models)} price consumer(s)",
            statements=(run_statement(plan.lineage_selector, lookback_vars(plan)),),
            action=re_pull,
        )
    ]
