"""Preflight: refuse a plan that would silently do the wrong thing, clear poisoned
mutations on the tables the plan touches, and back up the partitions Phase 1 replaces."""

from __future__ import annotations

import sys

from refill.errors import ContractViolation
from refill.graph import ProjectGraph
from refill.phases.context import RefillPlan, Step
from refill.phases.invocation import per_database, run_operation_each, run_operation_statement

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


def backup_table_suffix(plan: RefillPlan) -> str:
    """The backups of a run are ``<table>__refill_backup_<run id>`` (see refill.backup_table_name)."""
    return plan.run_id


def touched_tables(graph: ProjectGraph, plan: RefillPlan) -> dict[str, list[str]]:
    """``{database: [table, …]}`` of the plan's materialized models, where dbt put them."""
    names = set(plan.cohort) | set(plan.lineage_models) | set(plan.downstream_models)
    return plan.tables_by_database(
        sorted(n for n in names if (node := graph.by_name(n)) and node.materialized != "view"))


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    kill_calls = per_database(touched_tables(graph, plan), {})
    result = [
        Step(
            key="preflight:kill-failed-mutations",
            phase=PHASE,
            title="kill failed mutations on the touched tables",
            statements=tuple(run_operation_statement("kill_failed_mutations", args) for args in kill_calls),
            action=lambda ctx: run_operation_each(ctx, "kill_failed_mutations", kill_calls),
            repeat_on_resume=True,  # a crashed delete+insert may have left a poisoned mutation
        )
    ]
    if not plan.skip_cohort:
        backup_calls = per_database(plan.tables_by_database(plan.cohort), {
            "partitions": [m.isoformat() for m in plan.window.months],
            "suffix": backup_table_suffix(plan),
        })
        result.append(
            Step(
                key="preflight:backup",
                phase=PHASE,
                title=f"back up {len(plan.window.months)} month(s) of {len(plan.cohort)} cohort table(s)",
                statements=tuple(run_operation_statement("backup_partitions", args) for args in backup_calls),
                action=lambda ctx: run_operation_each(ctx, "backup_partitions", backup_calls),
            )
        )
    return result
