"""After a verified refill: drop this run's backups and the leftovers of crashed attempts.

Only tables belonging to the plan's models are considered, and only those created before
this attempt started: a crashed attempt's staging tables and dbt's ``__dbt_new_data_*``
intermediates, never the ones of a dbt run that is going on right now.
"""

from __future__ import annotations

import datetime as dt

from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_operation, run_operation_statement
from refill.phases.preflight import backup_table_suffix
from refill.sql import literal, table

PHASE = "finish"
ORPHAN_MARKERS = ("__dbt_new_data_", "__refill_stage", "__dbt_tmp", "__dbt_backup")


def orphan_tables(ctx: RunContext, started: dt.datetime) -> list[str]:
    plan = ctx.plan
    models = {*plan.input_models, *plan.cohort, *plan.lineage_models, *plan.downstream_models}
    if not models:
        return []
    # The query names the markers, not the models: one condition per model outgrew
    # max_query_size (256 KiB) at about 1,000 models. The plan's models are matched here.
    markers = ", ".join(literal(marker) for marker in ORPHAN_MARKERS)
    # every replica: an interrupted ON CLUSTER create may have reached only some of them
    rows = ctx.warehouse.rows(
        f"SELECT DISTINCT name FROM {ctx.warehouse.system_table('tables')}"
        f" WHERE database = {literal(plan.schema)} AND multiSearchAny(name, [{markers}])"
        f" AND metadata_modification_time < {literal(started.strftime('%Y-%m-%d %H:%M:%S'))}::DateTime"
        " ORDER BY name"
    )
    return [name for (name,) in rows if model_of_leftover(name, models)]


def model_of_leftover(name: str, models: set[str] | frozenset[str]) -> str | None:
    """The model whose intermediate ``name`` is (``<model><marker>…``), or None."""
    for marker in ORPHAN_MARKERS:
        at = name.find(marker)
        while at > 0:
            if name[:at] in models:
                return name[:at]
            at = name.find(marker, at + 1)
    return None


def drop_orphans(ctx: RunContext) -> list[str]:
    orphans = orphan_tables(ctx, ctx.started_at)
    for name in orphans:
        ctx.warehouse.execute(f"DROP TABLE IF EXISTS {table(ctx.plan.schema, name)}{ctx.warehouse.on_cluster()} SYNC")
    if orphans:
        print(f"[finish] dropped {len(orphans)} table(s) left by an interrupted attempt: {', '.join(orphans)}", flush=True)
    return orphans


def steps(plan: RefillPlan) -> list[Step]:
    result = []
    if not plan.skip_cohort:
        args = {"database": plan.schema, "tables": list(plan.cohort), "suffix": backup_table_suffix(plan)}
        result.append(Step(
            key="finish:drop-backups",
            phase=PHASE,
            title="drop this run's backups (the refill is verified)",
            statements=(run_operation_statement("drop_backups", args),),
            action=lambda ctx: run_operation(ctx, "drop_backups", args),
        ))
    result.append(Step(
        key="finish:drop-orphans",
        phase=PHASE,
        title="drop staging and dbt intermediates left by interrupted attempts",
        statements=("DROP TABLE … for tables named <plan model>__dbt_new_data_* / __refill_stage / __dbt_tmp "
                    "created before this attempt",),
        action=lambda ctx: {"dropped": drop_orphans(ctx)},
        repeat_on_resume=True,
    ))
    return result
