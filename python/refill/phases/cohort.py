"""Phase 1: rewrite the cohort's affected months, once per model per month, in graph order.

The cohort runs through the package's ``refill_swap`` materialization, switched on in a
manifest parsed with the month vars set (so every ``config()`` sees refill mode). For
each month one dbt invocation runs the whole cohort: dbt schedules a model only after
the cohort models it depends on have finished, including paths through unselected
views, and by then their month has been swapped in (REPLACE PARTITION is synchronous).
So every reader sees a final month: no duplicates to merge, no OPTIMIZE barrier, no
doubled value baked into an aggregator, and keys absent from the recompute are gone.
"""

from __future__ import annotations

import datetime as dt
import json

from refill.graph import ProjectGraph
from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_statement

PHASE = "phase1"
MATERIALIZATION = "refill_swap"


def month_vars(month: dt.date) -> dict[str, str]:
    return {"start_month": month.isoformat(), "end_month": month.isoformat()}


def cohort_manifest(ctx: RunContext):
    """The project parsed in refill mode, with the cohort switched to ``refill_swap``."""
    if ctx._cohort_manifest is None:
        manifest = ctx.session.parse(vars=month_vars(ctx.plan.window.first_month))
        graph = ProjectGraph.from_manifest(manifest)
        for uid in graph.tagged(ctx.plan.settings.tag):
            manifest.nodes[uid].config.materialized = MATERIALIZATION
        ctx._cohort_manifest = manifest
    return ctx._cohort_manifest


def rewrite_month(ctx: RunContext, month: dt.date) -> dict:
    print(f"[phase1] month={month}  rewrite {len(ctx.plan.cohort)} cohort model(s): "
          f"{len(ctx.plan.cohort_layers)} layer(s), write aside + REPLACE PARTITION", flush=True)
    ctx.session.invoke(["run", "--select", *ctx.plan.cohort], manifest=cohort_manifest(ctx), vars=month_vars(month))
    return {"month": month.isoformat(), "models": list(ctx.plan.cohort)}


def steps(plan: RefillPlan) -> list[Step]:
    if plan.skip_cohort or not plan.cohort:
        return []
    return [
        Step(
            key=f"phase1:{month.isoformat()}",
            phase=PHASE,
            title=f"rewrite month {month} of the cohort",
            statements=(
                f"dbt parse --vars '{json.dumps(month_vars(plan.window.first_month))}'"
                f"  (once; the cohort runs as {MATERIALIZATION})",
                run_statement(("--select", *plan.cohort), month_vars(month)),
            ),
            action=lambda ctx, month=month: rewrite_month(ctx, month),
        )
        for month in plan.window.months
    ]
