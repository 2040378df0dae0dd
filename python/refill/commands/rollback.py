"""``refill rollback --run ID``: put back what a refill's Phase 1 replaced.

Preflight backed up every month the cohort rewrite replaces (write-once: a resumed run
never overwrites the good copy). Rollback swaps those months back with REPLACE PARTITION,
so the cohort tables are byte for byte what they were; if the run had already rebuilt
the cohort's descendants, they are rebuilt again from the restored cohort.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from refill import render
from refill.dbt.graph import Relation, by_database
from refill.dbt.session import DbtSession
from refill.errors import BadInput
from refill.run import phases
from refill.run.journal import PENDING, ROLLED_BACK
from refill.run.phases import preflight
from refill.run.target import find_run, holder_info, journal_store, target_locks


def cohort_tables(plan: dict, models: list[str]) -> dict[str, list[str]]:
    """``{database: [table, …]}`` of the run's cohort, from the relations its journal recorded
    (the project may have changed since: the backups are where the run put them)."""
    relations = plan.get("relations") or {}
    # a journal written before relations were recorded: every model was in the profile's schema
    return by_database(Relation.from_list(relations[m]) if m in relations else Relation(plan["schema"], m)
                       for m in models)


def rebuilt_from_cohort(journal_steps: Mapping[str, Mapping]) -> list[str]:
    """The finished steps, of a journal's ``steps``, of a phase that rebuilds models from the
    cohort's tables (``Phase.rebuilds_from_cohort``): once the cohort is restored, what they
    built from the refilled months is rebuilt again."""
    rebuilders = [phase for phase in phases.PHASES if phase.rebuilds_from_cohort]
    return [key for key, done in journal_steps.items()
            if done.get("status") == "ok" and any(phase.owns(key) for phase in rebuilders)]


def run_rollback(run_id: str, *, project_dir: Path, profiles_dir: Path | None, target: str | None,
                 state_root: Path | None = None, artifacts_dir: Path | None = None,
                 cli_vars: dict | None = None) -> int:
    session = DbtSession(project_dir=project_dir, profiles_dir=profiles_dir, target=target,
                         artifacts_dir=artifacts_dir, cli_vars=cli_vars or {})
    store = journal_store(state_root, session)
    journal = find_run(store, run_id, session.target_name, none_pending=": nothing to roll back")
    run_id = journal.run_id
    if journal.status not in PENDING:
        raise BadInput(f"run {run_id} is {journal.status}: only a failed or interrupted run can be rolled back")
    plan = journal.data["plan"]
    models = [name for layer in plan["phase1_layers"] for name in layer]
    tables = cohort_tables(plan, models)
    months = plan["window"]["months"]
    # the targets of materialized views on the cohort whose months the run rewrote (refill.lineage.mv_targets)
    views = {name: months for name, months in (plan.get("mv_targets") or {}).items()
             if name in (plan.get("mv_backups") or ())}
    view_months = next(iter(views.values()), [])
    if not models and not views:
        raise BadInput(f"run {run_id} did not rewrite the cohort (--skip-balances-rewrite): nothing to roll back")
    if not journal.is_done(preflight.BACKUP_KEY):
        journal.finish(ROLLED_BACK)
        render.emit(render.rollback_nothing_to_restore(run_id))
        return 0
    manifest = session.parse()
    with target_locks(session, store.directory, holder_info(run_id, f"rollback of {run_id}")):
        render.emit(render.rollback_restoring(run_id, len(months), len(models), len(view_months), len(views)))
        restores = [(tables, months), (cohort_tables(plan, list(views)), view_months)]
        for group, group_months in restores:
            for database, names in group.items():
                restore = {"database": database, "tables": names, "partitions": group_months, "suffix": run_id}
                session.run_operation("restore_partitions", restore, manifest=manifest)
        if rebuilt_from_cohort(journal.data["steps"]):
            tag = plan["tag"]
            render.emit(render.rollback_rebuilding(tag))
            session.invoke(["run", "--select", f"tag:{tag}+", "--exclude", f"tag:{tag}"], manifest=manifest)
        for database, names in cohort_tables(plan, models + list(views)).items():
            drop = {"database": database, "tables": names, "suffix": run_id}
            session.run_operation("drop_backups", drop, manifest=manifest)
        journal.finish(ROLLED_BACK)
    render.emit(render.rollback_done(run_id))
    return 0
