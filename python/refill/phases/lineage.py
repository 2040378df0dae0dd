"""Phase 2: every prices consumer outside the cohort re-pulls the widened lookback.

``apply_monthly_incremental_filter`` reads ``var('price_lookback_days')``, so one var
widens every consumer; lineage (``<prices model>+``) finds them, not a hand-kept tag.
"""

from __future__ import annotations

import datetime as dt

from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_statement
from refill.plan import Window, months_between

PHASE = "phase2"

# ClickHouse refuses one INSERT into more partitions than max_partitions_per_insert_block
# (default 100, Code 252). A consumer's window is counted from its own latest day, which can
# lag today by a few days, so windows are cut a margin below the limit.
DEFAULT_PARTITION_LIMIT = 100


def months_per_run(partition_limit: int) -> int | None:
    """Months one re-pull may span under the limit (None: the limit is off)."""
    if partition_limit <= 0:
        return None
    return max(1, partition_limit * 9 // 10 - 1)


def partition_limit(credentials) -> int:
    settings = getattr(credentials, "custom_settings", None) or {}
    return int(settings.get("max_partitions_per_insert_block", DEFAULT_PARTITION_LIMIT))


def lookback_runs(window: Window, max_months: int | None = months_per_run(DEFAULT_PARTITION_LIMIT)) -> list[dict]:
    """The vars of each run: one window, or consecutive windows of at most ``max_months``."""
    today, lookback = window.today, window.lookback_days
    first_day = today - dt.timedelta(days=lookback - 1)
    months = months_between(first_day, today)
    if max_months is None or len(months) <= max_months:
        return [{"price_lookback_days": lookback}]
    runs = []
    for i in range(0, len(months), max_months):
        start = max(first_day, months[i])
        following = i + max_months
        end = min(today, months[following] - dt.timedelta(days=1)) if following < len(months) else today
        runs.append({"price_lookback_days": (today - start).days + 1, "incremental_end_date": end.isoformat()})
    return runs


def step_keys(phase: str, runs: list[dict]) -> list[str]:
    return [phase] if len(runs) == 1 else [f"{phase}:{i}/{len(runs)}" for i in range(1, len(runs) + 1)]


def re_pull(ctx: RunContext, run_vars: dict) -> dict:
    plan = ctx.plan
    print(f"[phase2] {' '.join(plan.lineage_selector)}  ({', '.join(f'{k}={v}' for k, v in run_vars.items())})",
          flush=True)
    ctx.session.invoke(["run", *plan.lineage_selector], manifest=ctx.manifest, vars=run_vars)
    return {"models": list(plan.lineage_models), "vars": run_vars}


def steps(plan: RefillPlan) -> list[Step]:
    if plan.skip_lineage or not plan.lineage_models:
        return []
    runs = lookback_runs(plan.window, plan.months_per_run)
    return [
        Step(
            key=key,
            phase=PHASE,
            title=f"re-pull {len(plan.lineage_models)} price consumer(s)",
            statements=(run_statement(plan.lineage_selector, run_vars),),
            action=lambda ctx, run_vars=run_vars: re_pull(ctx, run_vars),
        )
        for key, run_vars in zip(step_keys(PHASE, runs), runs)
    ]
