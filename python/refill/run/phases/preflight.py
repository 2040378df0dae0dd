"""Preflight: refuse a plan that would silently do the wrong thing, clear poisoned
mutations on the tables the plan touches, check that the prices model covers the gap, and
back up the partitions Phase 1 replaces.

Run order: refuse a plan with models no phase can repair (so the refusal is journaled),
clear mutations, then Phase 0.5 re-pulls what the cohort reads (the prices
model itself when it is a table), then the coverage check reads the refreshed prices,
then the backup.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from refill.dbt.graph import ProjectGraph
from refill.dbt.session import records
from refill.engine.sql import table
from refill.engine.warehouse import Warehouse
from refill.errors import ExitCode, PreflightProblem, PreflightRefused
from refill.run import checks
from refill.run import schema_drift
from refill.run.phases.cohort import month_vars
from refill.run.phases.context import Phase, RunContext, Step
from refill.run.phases.invocation import per_database, run_operation_each, run_operation_statement
from refill.run.plan import RefillPlan
from refill.run.price_coverage import ENTITY_VAR, entity_columns, missing_days, priced_entities
from refill.run.progress import say

KEY = "preflight"
BACKUP_KEY = f"{KEY}:backup"  # once done, the cohort may differ from its backups: rollback restores them


def check_graph(graph: ProjectGraph, cohort: set[str], prices_model: str,
                repaired_first: set[str] = frozenset()) -> list[PreflightProblem]:
    """Cohort inputs that Phase 1 would read stale (kind 'graph'): materialized models that
    sit between cohort models, or that turn prices into something a cohort model reads and
    that Phase 0.5 does not re-pull first (``repaired_first``)."""
    problems: dict[tuple[str, str], PreflightProblem] = {}

    def add(model: str, message: str) -> None:
        problems.setdefault((model, message), PreflightProblem(
            "graph", model, message + " (tag it refill_append or make it a view)", ExitCode.CONTRACT))

    for s in graph.stale_intermediates(cohort):
        node = graph.nodes[s.node]
        add(node.name, f"{node.materialized} between cohort models {graph.nodes[s.upstream].name} and "
                       f"{graph.nodes[s.downstream].name}: Phase 1 would read it stale")
    prices = graph.by_name(prices_model)
    if prices is not None:
        priced = graph.descendants({prices.unique_id})
        readers: dict[str, list[str]] = {}
        for uid in sorted(cohort):
            for input_id in sorted((graph.ancestors(uid) & priced) - cohort - set(repaired_first)):
                if graph.nodes[input_id].materialized not in ("view", "ephemeral"):
                    readers.setdefault(input_id, []).append(graph.nodes[uid].name)
        for input_id, names in sorted(readers.items()):
            node = graph.nodes[input_id]
            add(node.name, f"{node.materialized} downstream of {prices_model}, read by cohort model(s) "
                           f"{', '.join(names)}: only repaired after Phase 1")
    return [problems[key] for key in sorted(problems)]


def check_contract(manifest, settings, project_dir, cohort_names: set[str]) -> list[PreflightProblem]:
    """The lint's rules on the cohort, from the manifest: each model with an error is a
    problem (kind 'contract'); warnings and notes (a model that reads {{ this }}) are said
    on stderr and do not refuse."""
    from refill.lint import check_manifest

    findings = check_manifest(manifest, tag=settings.tag, allow_insert_overwrite=settings.allow_insert_overwrite,
                              select=cohort_names, project_dir=project_dir)
    by_model: dict[str, list] = {}
    for finding in findings:
        if finding.is_error:
            by_model.setdefault(finding.model, []).append(finding)
        else:
            # a warning is said on stderr; a note (a model that reads {{ this }}, RF011) is
            # information about the plan, on stdout, so stderr keeps one line per error
            label = "warning" if finding.fails else "note"
            say(f"refill: {label}: {finding.model}: {finding.code} {finding.message}",
                file=sys.stderr if finding.fails else None)
    problems = []
    for model, errors in sorted(by_model.items()):
        codes = ", ".join(dict.fromkeys(f.code for f in errors))
        problems.append(PreflightProblem(
            "contract", model, f"({codes}) {errors[0].message}; `python -m refill lint` lists every finding",
            ExitCode.CONTRACT))
    return problems


PARTITIONING_COLUMNS = ("table_name", "partition_key", "problem")  # read of partitioning_problems_query


def check_partitioning(session, manifest, schema: str, cohort_names: set[str]) -> list[PreflightProblem]:
    """Cohort tables whose partitions refill cannot place in months, as ``partitioning``
    problems (exit 5): Phase 1 swaps, backs up and restores whole months, so a partition
    holding several months (by year, by quarter, by week, unpartitioned) would be replaced
    whole by one month's rows. Read-only: the package's ``partitioning_problems_query``
    (the one definition of a month's partitions lives in the package), through ``dbt show``.
    A cohort table that does not exist yet is no problem: its first build replaces nothing.
    """
    if not cohort_names:
        return []
    query = f"{{{{ refill.partitioning_problems_query({json.dumps(schema)}, {json.dumps(sorted(cohort_names))}) }}}}"
    return [
        PreflightProblem(kind="partitioning", model=table,
                         message=f"partitioned by {key or 'tuple()'}: {problem}; "
                                 "partition it by toStartOfMonth(), toYYYYMM() or a day, or leave it out of the cohort")
        for table, key, problem in (
            (r["table_name"], r["partition_key"], r["problem"])
            for r in records(session.show(query, manifest=manifest), PARTITIONING_COLUMNS,
                             "refill.partitioning_problems_query"))
    ]


def check_schema_drift(session, manifest, graph: ProjectGraph, cohort: set[str], month: dt.date,
                       also: tuple[str, ...] = (), warehouse: Warehouse | None = None,
                       ) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...], list[PreflightProblem]]:
    """Compare every cohort model's month recompute with its table (refill.run.schema_drift).

    Returns the ALTERs that honour on_schema_change (applied by the ``preflight:schema-changes``
    step), the columns they add per model (the audit lets those change), and the problems a
    month swap cannot handle (exit 5), for the one preflight pass. Reads through ``warehouse``
    (the run's, left open), else through a connection of its own."""
    if warehouse is None:
        with Warehouse(session.credentials, session.project_dir) as own:
            return check_schema_drift(session, manifest, graph, cohort, month, also, own)
    changes, problems = schema_drift.check_cohort(session, manifest, graph, cohort, month_vars(month), warehouse,
                                                    also=also)
    on_cluster = warehouse.on_cluster()
    added = tuple((change.model, tuple(c.name for c in change.add)) for change in changes if change.add)
    return (tuple(statement for change in changes for statement in change.statements(on_cluster)), added,
            list(problems))


def apply_schema_changes(ctx, statements: tuple[str, ...]) -> dict:
    ctx.warehouse.execute_all(statements)
    return {"statements": list(statements)}


def price_entity(plan: RefillPlan, columns: dict[str, str] | None) -> tuple[tuple[str, ...], str]:
    """The prices model's entity columns for this plan (``refill.run.price_coverage.entity_columns``)."""
    settings = plan.settings
    group_by = next((c.group_by for c in settings.canaries if c.model == settings.prices_model and c.group_by), ())
    return entity_columns(columns, settings.date_column, declared=settings.price_entity, canary_group_by=group_by,
                          unique_key=plan.prices_unique_key)


def price_coverage_problem(ctx: RunContext) -> PreflightProblem | None:
    """A problem when a gap day is still missing from the prices model for an entity priced
    around it (the feed is not backfilled yet), else None.

    An entity is expected from its first price to its last one in the window, as ``detect``
    expects it; on days after the whole feed's last price every entity is expected, except
    on the last ``refill_price_lag_days`` days up to today (default 1: today's prices may not
    have landed yet; the next daily run re-reads today).
    """
    plan, warehouse = ctx.plan, ctx.warehouse
    schema, relation = plan.prices_relation
    columns = checks.relation_columns(warehouse, schema, relation)
    # the prices model's own date column (price_date, day …), as verify reads it
    date_column = checks.date_column_of(warehouse, schema, relation, columns, plan.settings.date_column)
    if date_column is None:
        return PreflightProblem(
            kind="price-coverage", model=plan.settings.prices_model,
            message=("has no date column refill can tell (none, or several and none is its partition key's):"
                     " set var refill_date_column"), exit_code=ExitCode.BAD_INPUT)
    entities, source = price_entity(plan, columns)
    first, today = plan.window.from_date, plan.window.today
    priced = priced_entities(warehouse, schema, relation, date_column, entities, first, today)
    # the feed's last days within its normal lag (var refill_price_lag_days) are not missing yet:
    # the next daily run re-reads them
    missing = missing_days(priced, first, today, lag_days=plan.settings.price_lag_days)
    if not missing:
        return None
    days = sorted(missing)
    shown = ", ".join(f"{day} for {len(missing[day])} of {len(priced)} entities" for day in days[:5])
    shown += f" and {len(days) - 5} more day(s)" if len(days) > 5 else ""
    return PreflightProblem(
        kind="price-coverage", model=plan.settings.prices_model,
        message=(f"the prices model still lacks {shown}: backfill the feed first"
                 + (f" (and rebuild {', '.join(plan.prices_upstream)}, which it reads)" if plan.prices_upstream else "")
                 + ", then run refill again"
                 f" (entities by {', '.join(entities)}, from {source}; var {ENTITY_VAR} overrides)"),
        exit_code=ExitCode.CHECK_FAILED,
    )


def describe_entity(plan: RefillPlan) -> str:
    entities, source = price_entity(plan, None)
    return f"{', '.join(entities)} (from {source})" if entities else f"{source}, found at run time"


def check_price_coverage(ctx: RunContext) -> dict:
    problem = price_coverage_problem(ctx)
    if problem is not None:
        raise PreflightRefused([problem])
    return {"prices_model": ctx.plan.settings.prices_model}


def backup_table_suffix(plan: RefillPlan) -> str:
    """The suffix of a run's backups: its run id (named by refill.backup_table_name, found by their marker)."""
    return plan.run_id


def touched_tables(graph: ProjectGraph, plan: RefillPlan) -> dict[str, list[str]]:
    """``{database: [table, …]}`` of the plan's materialized models, where dbt put them."""
    names = set(plan.input_models) | set(plan.cohort) | set(plan.lineage_models) | set(plan.downstream_models)
    return plan.tables_by_database(
        sorted(n for n in names if (node := graph.by_name(n)) and node.materialized != "view"))


def backup_arguments(plan: RefillPlan) -> list[dict]:
    """The ``backup_partitions`` calls of a plan: the cohort's affected months, and the months
    of each materialized view's target that reads the cohort and that the plan rewrites
    (refill.lineage.mv_targets): rollback puts both back, so such a target again matches the cohort
    months it was computed from."""
    suffix = backup_table_suffix(plan)
    calls = [] if plan.skip_cohort else per_database(plan.tables_by_database(plan.cohort), {
        "partitions": [m.isoformat() for m in plan.window.months], "suffix": suffix})
    if plan.mv_backups:
        calls += per_database(plan.tables_by_database(plan.mv_backups), {
            "partitions": [m.isoformat() for m in plan.mv_months], "suffix": suffix})
    return calls


def refuse(problems: tuple[PreflightProblem, ...]) -> None:
    raise PreflightRefused(list(problems))


def clear_steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    """Before anything writes: the refusal of a plan with models no phase can repair
    (``plan.refused``), then the poisoned mutations that would block the writes."""
    kill_calls = per_database(touched_tables(graph, plan), {})
    refusal = [] if not plan.refused else [Step(
        key="preflight:refusals",
        phase=KEY,
        title=f"refuse the plan: {len(plan.refused)} model(s) no phase can repair",
        statements=(),
        action=lambda ctx: refuse(plan.refused),
        repeat_on_resume=True,  # it never succeeds: with the models fixed, the plan has no such step
    )]
    return refusal + [
        Step(
            key="preflight:kill-failed-mutations",
            phase=KEY,
            title="kill failed mutations on the touched tables",
            statements=tuple(run_operation_statement("kill_failed_mutations", args) for args in kill_calls),
            action=lambda ctx: run_operation_each(ctx, "kill_failed_mutations", kill_calls),
            repeat_on_resume=True,  # a crashed delete+insert may have left a poisoned mutation
        )
    ]


def gate_steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    """After Phase 0.5, before Phase 1: the prices model covers the gap, then the backup."""
    result = []
    if plan.prices_relation is not None and not (plan.skip_cohort and plan.skip_lineage):
        schema, relation = plan.prices_relation
        result.append(Step(
            key="preflight:price-coverage",
            phase=KEY,
            title=f"{plan.settings.prices_model} covers the gap for every entity priced around it",
            statements=(f"SELECT entity, days priced in [{plan.window.from_date}, {plan.window.today}]"
                        f" FROM {table(schema, relation)}  (entity: {describe_entity(plan)})",),
            action=check_price_coverage,
            repeat_on_resume=True,  # the feed may have changed since
        ))
    if plan.schema_changes and not plan.skip_cohort:
        # before the backup: the backup twins are created like the table, and rollback's
        # REPLACE PARTITION needs the table's columns as they will be
        result.append(
            Step(
                key="preflight:schema-changes",
                phase=KEY,
                title=f"apply on_schema_change to the cohort ({len(plan.schema_changes)} ALTER)",
                statements=plan.schema_changes,
                action=lambda ctx: apply_schema_changes(ctx, plan.schema_changes),
            )
        )
    backup_calls = backup_arguments(plan)
    if backup_calls:
        what = [f"{len(plan.window.months)} month(s) of {len(plan.cohort)} cohort table(s)"] if not plan.skip_cohort else []
        what += [f"{len(plan.mv_months)} month(s) of {len(plan.mv_backups)} materialized-view target(s)"] if plan.mv_backups else []
        result.append(
            Step(
                key=BACKUP_KEY,
                phase=KEY,
                title=f"back up {' and '.join(what)}",
                statements=tuple(run_operation_statement("backup_partitions", args) for args in backup_calls),
                action=lambda ctx: run_operation_each(ctx, "backup_partitions", backup_calls),
            )
        )
    return result


# Two entries of the phases' order, one banner: the gate reads what Phase 0.5 re-pulled.
CLEAR = Phase(KEY, "Preflight", clear_steps)
GATE = Phase(KEY, "Preflight", gate_steps)
