"""Resolve the plan of a project: ask dbt and the warehouse what ``refill.run.plan.build_plan``
needs, and refuse what cannot work (exit 5, every problem at once) before anything is written."""

from __future__ import annotations

from refill.dbt.graph import ProjectGraph, by_database
from refill.dbt.session import DbtSession
from refill.dbt.settings import resolve_settings
from refill.engine.warehouse import Warehouse
from refill.errors import BadInput, PreflightProblem, PreflightRefused, StepFailed
from refill.lineage.lineage_scan import key_columns
from refill.lint import month_dependent_config
from refill.run.phases import cohort as cohort_phase
from refill.run.phases import lineage, preflight
from refill.run.plan import RefillPlan, Window, build_plan, cohort_scope, lineage_selector, repull_scope
from refill.run.repull import partition_budget


def resolve_plan(session: DbtSession, manifest, window: Window, *, select: str | None = None,
                 prices_model: str | None = None, tag: str | None = None, skip_cohort: bool = False,
                 skip_lineage: bool = False, warehouse: Warehouse | None = None) -> tuple[RefillPlan, ProjectGraph]:
    """The plan of the project ``manifest`` parses, and its graph.

    Reads the warehouse (partition keys, which tables hold rows) through ``warehouse`` (the
    run's, left open; else connections of its own) and compiles the incremental consumers (a
    second time only those whose window the first compile cannot tell), but writes nothing:
    ``refill plan`` runs this too. BadInput for flags or vars that name nothing;
    PreflightRefused with every problem of the cohort's checks."""
    settings = resolve_settings(session.project_dir, prices_model=prices_model, tag=tag, cli_vars=session.cli_vars)
    graph = ProjectGraph.from_manifest(manifest)
    scope = cohort_scope(graph, settings, skip_cohort=skip_cohort)
    cohort = set(scope.cohort)
    problems: list[PreflightProblem] = []  # one pass: every problem of every check, refused together
    if not skip_cohort:
        problems += preflight.check_graph(graph, cohort, settings.prices_model, repaired_first=set(scope.inputs))
        problems += preflight.check_contract(manifest, settings, session.project_dir, set(graph.names(cohort)))
        for database, tables in by_database(graph.relations(cohort).values()).items():
            problems += preflight.check_partitioning(session, manifest, database, set(tables))
    schema_changes: tuple[str, ...] = ()
    month_dependent: tuple[tuple[str, str], ...] = ()
    new_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if not skip_cohort:
        month_dependent = tuple((d.model, d.reason) for d in month_dependent_config(
            manifest, tag=settings.tag, select=set(graph.names(cohort)), project_dir=session.project_dir))
        # with one parse the audit's compile is this one (same manifest, same vars)
        audit_names = () if month_dependent else tuple(cohort_phase.audit_models(graph, cohort, scope.prices))
        # last: it compiles the cohort, which the problems above may break. It still runs
        # when they exist: each attempt on a large project costs a parse, so one refusal
        # names every class of problem (a compile failure then is one problem more).
        try:
            schema_changes, new_columns, drift = preflight.check_schema_drift(
                session, manifest, graph, cohort, window.first_month, also=audit_names, warehouse=warehouse)
        except (BadInput, StepFailed) as exc:
            if not problems:
                raise
            drift = [PreflightProblem("schema-drift", None, "not checked: the cohort does not compile "
                                      f"({exc.message[:200]}); fix the problems above and plan again")]
        problems += drift
    if problems:
        raise PreflightRefused(problems)
    selector = lineage_selector(settings, select)
    selected = None if skip_lineage else session.select(selector, manifest=manifest)
    scope = repull_scope(graph, scope, selected, select=select, tag=settings.tag)
    budget = partition_budget(lineage.partition_limit(session.credentials))
    own = Warehouse(session.credentials, session.project_dir) if warehouse is None else None
    try:
        repairs = lineage.decide_repairs(graph, scope.repulled, window, budget=budget, warehouse=warehouse or own,
                                         session=session, manifest=manifest, full_refresh=settings.full_refresh,
                                         cohort=set() if skip_cohort else cohort)
    finally:
        if own is not None:
            own.close()
    unique_key = manifest.nodes[scope.prices].config.get("unique_key") or ()
    plan = build_plan(
        graph, scope, window, settings, repairs,
        project_dir=str(session.project_dir), schema=session.schema, target=session.target_name,
        lineage_selector=selector, skip_cohort=skip_cohort, skip_lineage=skip_lineage, partition_budget=budget,
        prices_unique_key=tuple(c for key in ([unique_key] if isinstance(unique_key, str) else unique_key)
                                for c in key_columns(f"({key})")),
        schema_changes=schema_changes, new_columns=new_columns, month_dependent=month_dependent,
    )
    return plan, graph
