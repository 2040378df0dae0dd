"""After a verified refill: drop this run's backups and the leftovers of crashed attempts.

Only tables belonging to the plan's models are considered, and only those created before
this attempt started: a crashed attempt's staging tables and dbt's ``__dbt_new_data_*``
intermediates, never the ones of a dbt run that is going on right now.
"""

from __future__ import annotations

import datetime as dt

from refill.graph import Relation
from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import per_database, run_operation_each, run_operation_statement
from refill.phases.preflight import backup_table_suffix
from refill.progress import say
from refill.sql import literal

PHASE = "finish"
ORPHAN_MARKERS = ("__dbt_new_data_", "__refill_stage", "__dbt_tmp", "__dbt_backup")


def orphan_tables(ctx: RunContext, started: dt.datetime) -> list[Relation]:
    plan = ctx.plan
    tables = plan.tables_by_database({*plan.input_models, *plan.cohort, *plan.lineage_models, *plan.downstream_models})
    if not tables:
        return []
    # The query names the markers, not the models: one condition per model outgrew
    # max_query_size (256 KiB) at about 1,000 models. The plan's models are matched here.
    markers = ", ".join(literal(marker) for marker in ORPHAN_MARKERS)
    # every replica: an interrupted ON CLUSTER create may have reached only some of them
    rows = ctx.warehouse.rows(
        f"SELECT DISTINCT database, name FROM {ctx.warehouse.system_table('tables')}"
        f" WHERE database IN ({', '.join(literal(d) for d in tables)}) AND multiSearchAny(name, [{markers}])"
        f" AND metadata_modification_time < {literal(started.strftime('%Y-%m-%d %H:%M:%S'))}::DateTime"
        " ORDER BY database, name"
    )
    return [Relation(database, name) for database, name in rows if model_of_leftover(name, set(tables[database]))]


def model_of_leftover(name: str, models: set[str] | frozenset[str]) -> str | None:
    """The table (of ``models``, the tables of one database) whose intermediate ``name`` is
    (``<table><marker>…``), or None."""
    for marker in ORPHAN_MARKERS:
        at = name.find(marker)
        while at > 0:
            if name[:at] in models:
                return name[:at]
            at = name.find(marker, at + 1)
    return None


def drop_orphans(ctx: RunContext) -> list[str]:
    orphans = orphan_tables(ctx, ctx.started_at)
    for relation in orphans:
        ctx.warehouse.execute(f"DROP TABLE IF EXISTS {relation.sql}{ctx.warehouse.on_cluster()} SYNC")
    if orphans:
        say(f"[finish] dropped {len(orphans)} table(s) left by an interrupted attempt: "
            f"{', '.join(map(str, orphans))}")
    return [str(relation) for relation in orphans]


def steps(plan: RefillPlan) -> list[Step]:
    result = []
    if not plan.skip_cohort:
        calls = per_database(plan.tables_by_database(plan.cohort), {"suffix": backup_table_suffix(plan)})
        result.append(Step(
            key="finish:drop-backups",
            phase=PHASE,
            title="drop this run's backups (the refill is verified)",
            statements=tuple(run_operation_statement("drop_backups", args) for args in calls),
            action=lambda ctx: run_operation_each(ctx, "drop_backups", calls),
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
