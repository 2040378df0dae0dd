"""Preflight: refuse a plan that would silently do the wrong thing, clear poisoned
mutations on the tables the plan touches, check that the prices model covers the gap, and
back up the partitions Phase 1 replaces.

Run order: clear mutations, then Phase 0.5 re-pulls what the cohort reads (the prices
model itself when it is a table), then the coverage check reads the refreshed prices,
then the backup.
"""

from __future__ import annotations

import sys

from refill import checks
from refill.detect import ENTITY_VAR, entity_columns, missing_days, priced_entities
from refill.errors import ContractViolation, ExitCode, PreflightProblem, PreflightRefused
from refill.graph import ProjectGraph
from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_operation, run_operation_statement
from refill.sql import table

PHASE = "preflight"


def check_graph(graph: ProjectGraph, cohort: set[str], prices_model: str,
                repaired_first: set[str] = frozenset()) -> None:
    """Refuse cohort inputs that Phase 1 would read stale: materialized models that sit
    between cohort models, or that turn prices into something a cohort model reads and
    that Phase 0.5 does not re-pull first (``repaired_first``)."""
    problems = [
        f"{graph.nodes[s.node].name} ({graph.nodes[s.node].materialized}) sits between cohort models "
        f"{graph.nodes[s.upstream].name} and {graph.nodes[s.downstream].name}"
        for s in graph.stale_intermediates(cohort)
    ]
    prices = graph.by_name(prices_model)
    if prices is not None:
        priced = graph.descendants({prices.unique_id})
        for uid in sorted(cohort):
            for input_id in sorted((graph.ancestors(uid) & priced) - cohort - set(repaired_first)):
                node = graph.nodes[input_id]
                if node.materialized not in ("view", "ephemeral"):
                    problems.append(
                        f"cohort model {graph.nodes[uid].name} reads {node.name} ({node.materialized}), "
                        f"which is downstream of {prices_model} and only repaired after Phase 1"
                    )
    if problems:
        raise ContractViolation(
            "Phase 1 would read stale rows: " + "; ".join(sorted(set(problems)))
            + " (tag the model refill_append or make it a view)"
        )


def check_contract(manifest, settings, project_dir, cohort_names: set[str]) -> None:
    """The lint's rules on the cohort, from the manifest: errors refuse the run (exit 5)."""
    from refill.lint import check_manifest, raise_for_errors

    findings = check_manifest(manifest, tag=settings.tag, allow_insert_overwrite=settings.allow_insert_overwrite,
                              select=cohort_names, project_dir=project_dir)
    for finding in findings:
        if not finding.is_error:
            print(f"refill: warning: {finding.model}: {finding.code} {finding.message}", file=sys.stderr)
    raise_for_errors(findings)


def price_entity(plan: RefillPlan, columns: dict[str, str] | None) -> tuple[tuple[str, ...], str]:
    """The prices model's entity columns for this plan (``refill.detect.entity_columns``)."""
    settings = plan.settings
    group_by = next((c.group_by for c in settings.canaries if c.model == settings.prices_model and c.group_by), ())
    return entity_columns(columns, settings.date_column, declared=settings.price_entity, canary_group_by=group_by,
                          unique_key=plan.prices_unique_key)


def price_coverage_problem(ctx: RunContext) -> PreflightProblem | None:
    """A problem when a gap day is still missing from the prices model for an entity priced
    around it (the feed is not backfilled yet), else None.

    An entity is expected from its first price to its last one in the window, as ``detect``
    expects it; on days after the whole feed's last price every entity is expected, except
    on today, whose prices may not have landed yet (the next daily run re-reads today).
    """
    plan, warehouse = ctx.plan, ctx.warehouse
    schema, relation = plan.prices_relation
    date_column = plan.settings.date_column
    entities, source = price_entity(plan, checks.relation_columns(warehouse, schema, relation))
    first, today = plan.window.from_date, plan.window.today
    priced = priced_entities(warehouse, schema, relation, date_column, entities, first, today)
    missing = missing_days(priced, first, today)
    if today in missing and not any(today in days for _, days in priced.values()):
        del missing[today]
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
    """The backups of a run are ``<table>__refill_backup_<run id>`` (see refill.backup_table_name)."""
    return plan.run_id


def touched_tables(ctx_graph: ProjectGraph, plan: RefillPlan) -> list[str]:
    names = set(plan.input_models) | set(plan.cohort) | set(plan.lineage_models) | set(plan.downstream_models)
    return sorted(n for n in names if (node := ctx_graph.by_name(n)) and node.materialized != "view")


def clear_steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    """Before anything writes: the poisoned mutations that would block it."""
    kill_args = {"database": plan.schema, "tables": touched_tables(graph, plan)}
    return [
        Step(
            key="preflight:kill-failed-mutations",
            phase=PHASE,
            title="kill failed mutations on the touched tables",
            statements=(run_operation_statement("kill_failed_mutations", kill_args),),
            action=lambda ctx: run_operation(ctx, "kill_failed_mutations", kill_args),
            repeat_on_resume=True,  # a crashed delete+insert may have left a poisoned mutation
        )
    ]


def gate_steps(plan: RefillPlan) -> list[Step]:
    """After Phase 0.5, before Phase 1: the prices model covers the gap, then the backup."""
    result = []
    if plan.prices_relation is not None and not (plan.skip_cohort and plan.skip_lineage):
        schema, relation = plan.prices_relation
        result.append(Step(
            key="preflight:price-coverage",
            phase=PHASE,
            title=f"{plan.settings.prices_model} covers the gap for every entity priced around it",
            statements=(f"SELECT entity, days priced in [{plan.window.from_date}, {plan.window.today}]"
                        f" FROM {table(schema, relation)}  (entity: {describe_entity(plan)})",),
            action=check_price_coverage,
            repeat_on_resume=True,  # the feed may have changed since
        ))
    if not plan.skip_cohort:
        backup_args = {
            "database": plan.schema,
            "tables": list(plan.cohort),
            "partitions": [m.isoformat() for m in plan.window.months],
            "suffix": backup_table_suffix(plan),
        }
        result.append(
            Step(
                key="preflight:backup",
                phase=PHASE,
                title=f"back up {len(plan.window.months)} month(s) of {len(plan.cohort)} cohort table(s)",
                statements=(run_operation_statement("backup_partitions", backup_args),),
                action=lambda ctx: run_operation(ctx, "backup_partitions", backup_args),
            )
        )
    return result
