"""After a verified refill: drop this run's backups and the leftovers of crashed attempts.

Only tables belonging to the plan's models are considered, and only those created before
this attempt started: a crashed attempt's staging tables and dbt's ``__dbt_new_data_*``
intermediates, never the ones of a dbt run that is going on right now. What a leftover is,
and whose, is the package's ``orphan_tables_query`` (the view and ``refill cleanup`` read
the same).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from refill.dbt.graph import ProjectGraph, Relation
from refill.dbt.session import records
from refill.run.phases.context import Phase, RunContext, Step
from refill.run.phases.invocation import per_database, run_operation_each, run_operation_statement
from refill.run.phases.preflight import backup_table_suffix
from refill.run.plan import RefillPlan
from refill.run.progress import say

KEY = "finish"
# what list_leftovers reads of orphan_tables_query
LEFTOVER_COLUMNS = ("database_name", "table_name", "kind", "model_name", "run_id", "is_refill_backup", "age_seconds")
# the kinds a crashed attempt leaves; a run's backups go by drop_backups, named by the run id
ATTEMPT_LEFTOVERS = ("dbt_new_data", "dbt_tmp", "dbt_backup", "refill_stage")


def list_leftovers(session, manifest, databases: list[str] | None = None) -> list[dict[str, Any]]:
    """The package's ``orphan_tables_query`` over ``databases`` (default: every database the
    project writes), one row per table and replica, read by name (``LEFTOVER_COLUMNS``).
    The query names the databases, not the models: one condition per model outgrew
    max_query_size (256 KiB) at about 1,000 models."""
    argument = json.dumps(sorted(databases)) if databases is not None else ""
    return records(session.show(f"{{{{ refill.orphan_tables_query({argument}) }}}}", manifest=manifest),
                   LEFTOVER_COLUMNS, "refill.orphan_tables_query")


def orphan_tables(ctx: RunContext, started: dt.datetime) -> list[Relation]:
    plan = ctx.plan
    tables = plan.tables_by_database({*plan.input_models, *plan.cohort, *plan.lineage_models, *plan.downstream_models})
    if not tables:
        return []
    rows = list_leftovers(ctx.session, ctx.manifest, list(tables))
    # Created before this attempt started: the table's age (the server's clock) against the
    # time since `started` (ours), taken after the query, so a table of this attempt is
    # never old enough; one made a second before the start may wait for the next attempt.
    since_start = (dt.datetime.now() - started).total_seconds()
    found = {
        Relation(row["database_name"], row["table_name"])
        for row in rows
        if row["kind"] in ATTEMPT_LEFTOVERS and row["model_name"] in tables[row["database_name"]]
        and int(row["age_seconds"]) > since_start
    }
    return sorted(found, key=lambda r: (r.database, r.identifier))


def drop_orphans(ctx: RunContext) -> list[str]:
    orphans = orphan_tables(ctx, ctx.started_at)
    for relation in orphans:
        ctx.warehouse.drop_table(relation.database, relation.identifier)
    if orphans:
        say(f"[finish] dropped {len(orphans)} table(s) left by an interrupted attempt: "
            f"{', '.join(map(str, orphans))}")
    return [str(relation) for relation in orphans]


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    result = []
    backed_up = (() if plan.skip_cohort else plan.cohort) + plan.mv_backups
    if backed_up:
        calls = per_database(plan.tables_by_database(backed_up), {"suffix": backup_table_suffix(plan)})
        result.append(Step(
            key="finish:drop-backups",
            phase=KEY,
            title="drop this run's backups (the refill is verified)",
            statements=tuple(run_operation_statement("drop_backups", args) for args in calls),
            action=lambda ctx: run_operation_each(ctx, "drop_backups", calls),
        ))
    result.append(Step(
        key="finish:drop-orphans",
        phase=KEY,
        title="drop staging and dbt intermediates left by interrupted attempts",
        statements=("DROP TABLE … for the leftovers (refill.orphan_tables_query: <plan model>__dbt_new_data_* / "
                    "__refill_stage / __dbt_tmp / __dbt_backup) created before this attempt",),
        action=lambda ctx: {"dropped": drop_orphans(ctx)},
        repeat_on_resume=True,
    ))
    return result


PHASE = Phase(KEY, "Finish", steps)
