"""Preflight: refuse a plan that would silently do the wrong thing, clear poisoned
mutations on the tables the plan touches, and back up the partitions Phase 1 replaces."""

from __future__ import annotations

import datetime as dt
import sys

from refill import schema_drift
from refill.errors import ContractViolation, PreflightRefused
from refill.graph import ProjectGraph
from refill.phases.cohort import month_vars
from refill.phases.context import RefillPlan, Step
from refill.phases.invocation import run_operation, run_operation_statement
from refill.warehouse import Warehouse

PHASE = "preflight"


def check_graph(graph: ProjectGraph, cohort: set[str], prices_model: str) -> None:
    """Refuse cohort inputs that Phase 1 would read stale: materialized models that sit
    between cohort models, or that turn prices into something a cohort model reads."""
    problems = [
        f"{graph.nodes[s.node].name} ({graph.nodes[s.node].materialized}) sits between cohort models "
        f"{graph.nodes[s.upstream].name} and {graph.nodes[s.downstream].name}"
        for s in graph.stale_intermediates(cohort)
    ]
    prices = graph.by_name(prices_model)
    if prices is not None:
        priced = graph.descendants({prices.unique_id})
        for uid in sorted(cohort):
            for input_id in sorted((graph.ancestors(uid) & priced) - cohort):
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


def check_schema_drift(session, manifest, graph: ProjectGraph, cohort: set[str], month: dt.date) -> tuple[str, ...]:
    """Compare every cohort model's month recompute with its table (refill.schema_drift):
    refuse what a month swap cannot do (exit 5, nothing written); return the ALTERs that
    honour on_schema_change, applied by the ``preflight:schema-changes`` step."""
    with Warehouse(session.credentials, session.project_dir) as warehouse:
        changes, problems = schema_drift.check_cohort(session, manifest, graph, cohort, month_vars(month), warehouse)
        on_cluster = warehouse.on_cluster()
    if problems:
        raise PreflightRefused(problems)
    return tuple(statement for change in changes for statement in change.statements(on_cluster))


def apply_schema_changes(ctx, statements: tuple[str, ...]) -> dict:
    ctx.warehouse.execute_all(statements)
    return {"statements": list(statements)}


def backup_table_suffix(plan: RefillPlan) -> str:
    """The backups of a run are ``<table>__refill_backup_<run id>`` (see refill.backup_table_name)."""
    return plan.run_id


def touched_tables(ctx_graph: ProjectGraph, plan: RefillPlan) -> list[str]:
    names = set(plan.cohort) | set(plan.lineage_models) | set(plan.downstream_models)
    return sorted(n for n in names if (node := ctx_graph.by_name(n)) and node.materialized != "view")


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    kill_args = {"database": plan.schema, "tables": touched_tables(graph, plan)}
    result = [
        Step(
            key="preflight:kill-failed-mutations",
            phase=PHASE,
            title="kill failed mutations on the touched tables",
            statements=(run_operation_statement("kill_failed_mutations", kill_args),),
            action=lambda ctx: run_operation(ctx, "kill_failed_mutations", kill_args),
            repeat_on_resume=True,  # a crashed delete+insert may have left a poisoned mutation
        )
    ]
    if plan.schema_changes and not plan.skip_cohort:
        # before the backup: the backup twins are created like the table, and rollback's
        # REPLACE PARTITION needs the table's columns as they will be
        result.append(
            Step(
                key="preflight:schema-changes",
                phase=PHASE,
                title=f"apply on_schema_change to the cohort ({len(plan.schema_changes)} ALTER)",
                statements=plan.schema_changes,
                action=lambda ctx: apply_schema_changes(ctx, plan.schema_changes),
            )
        )
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
