"""Phase 0.5 and Phase 2: every prices consumer outside the cohort re-pulls the widened lookback.

``apply_monthly_incremental_filter`` reads ``var('price_lookback_days')``, so one var
widens every consumer; lineage (``<prices model>+``) finds them, not a hand-kept tag.
The graph orders them: what the cohort reads (the materialized models between the prices
model and the cohort, the prices model itself when materialized) is re-pulled before
Phase 1 (Phase 0.5), the rest after it (Phase 2).

How each model is re-pulled is decided here, per model:

* incremental: the lookback var, its window cut by its own partitions under the
  profile's ``max_partitions_per_insert_block`` (``refill.run.repull``);
* dbt microbatch: ``--event-time-start/--event-time-end`` over the window (its batches
  come from ``event_time`` and the clock, not from a var);
* incremental with a window that does not follow the var (hand-written, or a lookback of
  its own): cannot be repaired by a re-pull, refused before anything is written, unless
  the project lists it in var ``refill_full_refresh``: then rebuilt whole
  (``--full-refresh``), which equals a from-scratch build;
* table: rebuilt whole; view: read live (dbt re-creates it); ephemeral: nothing to run;
* materialized view (an insert trigger, which neither Phase 1's partition swap nor ``dbt
  run`` of the existing view refills): its target's months rewritten from its SELECT
  (``refill.lineage.mv_targets``), or refused when that is not provably a from-scratch build's.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from refill.dbt.graph import UNMATERIALIZED, ProjectGraph, Relation
from refill.errors import PreflightProblem
from refill.lineage import lineage_scan
from refill.lineage import mv_targets
from refill.render import abbreviate_statement
from refill.run.phases.context import Phase, RunContext, Step
from refill.run.plan import RefillPlan, Repairs, Window
from refill.run.progress import say
from refill.run.repull import (
    DEFAULT_PARTITION_LIMIT, Repull, RunSpec, lookback_specs, microbatch_spec, split_days, split_months,
    step_keys, whole_months,
)
from refill.engine.sql import literal

KEY = "phase2"
INPUTS_KEY = "phase0.5"


def partition_limit(credentials) -> int:
    settings = getattr(credentials, "custom_settings", None) or {}
    return int(settings.get("max_partitions_per_insert_block", DEFAULT_PARTITION_LIMIT))


def mv_problems(graph: ProjectGraph, views: list, *, repaired: set[Relation], session, manifest,
                full_refresh: set[str]) -> dict[str, str]:
    """``{view model: why its target's months cannot be rewritten}`` (see refill.lineage.mv_targets).

    Reads only: the target's partition key (the package's ``partitioning_problems_query``,
    the one definition of a month's partitions) and ``dbt compile`` of the views."""
    from refill.run.phases.preflight import check_partitioning  # preflight's own check, on these tables

    problems: dict[str, str] = {}
    rebuilt_ok = ("; add it to var refill_full_refresh to have refill rebuild its target whole from its SELECT"
                  " (dbt run --full-refresh)")
    checked = []
    for node in views:
        config = manifest.nodes[node.unique_id].config
        raw = manifest.nodes[node.unique_id].raw_code or ""
        if mv_targets.EXTERNAL_TARGET_MARKER in raw:
            problems[node.name] = ("it writes into another model's table (materialization_target_table), which other"
                                   " writers may share: repair that table's months by hand after the refill")
        elif config.get("refreshable"):
            problems[node.name] = ("a refreshable materialized view is no insert trigger: run SYSTEM REFRESH VIEW on it"
                                   " after the refill, and leave it out of the refill's selection (--select)")
        elif config.get("catchup", True) is False:
            problems[node.name] = ("catchup=False: its target holds only rows inserted since the view was created, so"
                                   " no SELECT recomputes it; repair its months by hand after the refill")
        elif node.name not in full_refresh:
            checked.append(node)
    if not checked:
        return problems
    for database in sorted({n.relation.database for n in checked}):
        names = {n.relation.identifier: n for n in checked if n.relation.database == database}
        for problem in check_partitioning(session, manifest, database, set(names)):
            node = names[problem.model]
            head = problem.message.split(";")[0]  # "partitioned by <key>: <why>"
            head = "not partitioned" if head.startswith("partitioned by tuple()") else head
            problems[node.name] = f"its target is {head}, so its months cannot be swapped" + rebuilt_ok
    sqls = lineage_scan.compiled_sql(session, manifest, [n.name for n in checked if n.name not in problems], {})
    source_dates = {(n.relation.database, n.relation.identifier): mv_targets.date_columns(n.partition_by)
                    for n in graph.nodes.values() if n.materialized not in UNMATERIALIZED}
    pairs = {(r.database, r.identifier) for r in repaired}
    for node in checked:
        if node.name in problems:
            continue
        why = mv_targets.month_local_problem(sqls.get(node.name, ""), mv_targets.date_columns(node.partition_by),
                                             source_dates, pairs)
        if why:
            problems[node.name] = why + rebuilt_ok
    return problems


def decide_repairs(graph: ProjectGraph, uids: Iterable[str], window: Window, *, budget: int | None,
                   warehouse, session=None, manifest=None, check_windows: bool = True,
                   full_refresh: Iterable[str] = (), cohort: Iterable[str] = ()) -> Repairs:
    """Decide how each of ``uids`` is re-pulled (see the module docstring).

    ``warehouse`` counts partitions (reads only); ``session`` and ``manifest`` compile the
    incremental models to find windows that ignore the var (``lineage_scan.windows_ignoring_lookback``;
    skipped when ``check_windows`` is false or no session is given), and the materialized views once.
    ``cohort`` (unique ids) is what Phase 1 rewrites: a view reading it is repaired here.
    """
    result = Repairs()
    days = window.repull_days
    base = lookback_specs(window.today, window.lookback_days, [])
    nodes = [graph.nodes[uid] for uid in uids]
    rebuilt = set(full_refresh)
    cohort = set(cohort)
    views = [n for n in nodes if n.materialized == mv_targets.MATERIALIZED_VIEW]
    view_problems = {}
    if views and session is not None:
        repaired = {graph.nodes[u].relation for u in {*uids, *cohort} if graph.nodes[u].materialized not in UNMATERIALIZED}
        view_problems = mv_problems(graph, views, repaired=repaired, session=session, manifest=manifest,
                                    full_refresh=rebuilt)
    months = window.repull_months
    unbuilt = set()  # a view whose target does not exist yet: dbt run creates it with catch-up
    if views and warehouse is not None:
        pairs = ", ".join(f"({literal(n.relation.database)}, {literal(n.relation.identifier)})" for n in views)
        built = {(d, t) for d, t in warehouse.rows(
            f"SELECT DISTINCT database, name FROM {warehouse.system_table('tables')} WHERE (database, name) IN ({pairs})")}
        unbuilt = {n.name for n in views if (n.relation.database, n.relation.identifier) not in built}
    incremental = [n for n in nodes if n.is_incremental and n.strategy != "microbatch" and n.name not in rebuilt]
    ignoring: set[str] = set()
    if check_windows and session is not None and incremental:
        candidates = lineage_scan.windows_ignoring_lookback(
            session, manifest, [n.name for n in incremental], window.lookback_days)
        if candidates:
            by_name = {n.name: n for n in incremental}
            live = lineage_scan.populated(warehouse, [(by_name[c].relation.database, by_name[c].relation.identifier) for c in candidates])
            ignoring = {c for c in candidates if (by_name[c].relation.database, by_name[c].relation.identifier) in live}
    cache: dict[object, list[frozenset[str]]] = {}
    for node in nodes:
        if node.materialized in UNMATERIALIZED:
            result.specs[node.name], result.mechanisms[node.name] = base, f"{node.materialized}: read live (re-created)"
        elif node.name in unbuilt:
            result.specs[node.name] = base
            result.mechanisms[node.name] = ("materialized_view not built yet: dbt run creates its target with"
                                            " catch-up from its SELECT (a from-scratch build)")
        elif node.name in view_problems:
            result.specs[node.name] = base
            result.mechanisms[node.name] = "cannot repair: " + view_problems[node.name]
            result.refused.append(PreflightProblem(
                kind="materialized-view", model=node.name,
                message=f"materialized view, not refilled by a partition swap or dbt run: {view_problems[node.name]}"))
        elif node.name in rebuilt:
            result.specs[node.name] = (RunSpec((), full_refresh=True),)
            result.mechanisms[node.name] = "rebuilt whole: dbt run --full-refresh (var refill_full_refresh)"
        elif node.materialized == mv_targets.MATERIALIZED_VIEW:
            result.specs[node.name] = (RunSpec((("start_month", months[0].isoformat()),
                                                ("end_month", months[-1].isoformat())), mv_rewrite=True),)
            result.mechanisms[node.name] = (
                f"mv-target month rewrite: {', '.join(m.isoformat() for m in months)} of {node.relation} recomputed"
                " from the view's SELECT into a staging twin and swapped in"
                + (" (backed up in preflight, restored by rollback with the cohort)" if graph.ancestors(node.unique_id) & cohort
                   else " (not backed up: re-derivable, like the re-pulled models it reads)"))
        elif not node.is_incremental:
            result.specs[node.name], result.mechanisms[node.name] = base, f"{node.materialized}: rebuilt whole"
        elif node.strategy == "microbatch":
            result.specs[node.name] = microbatch_spec(days[0], window.today, window.lookback_days)
            result.mechanisms[node.name] = f"microbatch: --event-time-start {days[0]} --event-time-end {window.today + dt.timedelta(days=1)}"
        elif node.name in ignoring:
            result.specs[node.name] = base
            result.mechanisms[node.name] = "cannot repair: its incremental window ignores price_lookback_days"
            result.refused.append(PreflightProblem(
                kind="lineage", model=node.name,
                message=(f"its incremental window ignores price_lookback_days (the same SQL for {window.lookback_days}"
                         f" and {window.lookback_days + 1} days), so a re-pull would keep the gap: make the window call"
                         f" refill.apply_monthly_incremental_filter, or add it to var refill_full_refresh to have"
                         f" refill rebuild it whole"),
            ))
        else:
            expression = lineage_scan.partition_expression(node.partition_by)
            overwrite = node.strategy == "insert_overwrite"
            counted = whole_months(days[0], days[-1]) if overwrite else days
            key = expression if expression and len(lineage_scan.key_columns(expression)) <= 1 else node.unique_id
            if (key, overwrite) not in cache:
                cache[key, overwrite] = lineage_scan.day_partitions(
                    warehouse, node.relation.database, node.relation.identifier, node.partition_by, counted)
            partitions = cache[key, overwrite]
            chunks = (split_months(counted, partitions, budget, days[0], days[-1]) if overwrite
                      else split_days(days, partitions, budget))
            result.specs[node.name] = lookback_specs(window.today, window.lookback_days, chunks)
            spanned = len(set().union(*partitions)) if partitions else 0
            result.mechanisms[node.name] = (
                f"lookback var, {len(chunks)} run(s): {spanned} partition(s) of {expression or 'one table'}"
                + (" over whole months (insert_overwrite)" if overwrite else "")
                + (f", at most {budget} per run" if budget and len(chunks) > 1 else "")
            )
    return result


MV_MATERIALIZATION = "refill_mv_swap"


def re_pull(ctx: RunContext, phase: str, run: Repull) -> dict:
    say(abbreviate_statement(f"[{phase}] {' '.join(run.args()[1:])}  ({', '.join(f'{k}={v}' for k, v in run.spec.vars)})"
                             + ("  as refill_mv_swap" if run.spec.mv_rewrite else "")))
    if not run.spec.mv_rewrite:
        ctx.session.invoke(run.args(), manifest=ctx.manifest, vars=run.spec.vars_dict)
        return run.as_dict()
    # the views' targets are written by the package's refill_mv_swap for this one invocation:
    # their config is switched in memory (the manifest is shared with the other runs, so it
    # is switched back), as Phase 1 switches the cohort to refill_swap
    configs = [ctx.manifest.nodes[uid].config for uid in (ctx.graph.by_name(m).unique_id for m in run.models)]
    saved = [config.materialized for config in configs]
    try:
        for config in configs:
            config.materialized = MV_MATERIALIZATION
        ctx.session.invoke(run.args(), manifest=ctx.manifest, vars=run.spec.vars_dict)
    finally:
        for config, materialized in zip(configs, saved):
            config.materialized = materialized
    return run.as_dict()


def run_steps(phase: str, title: str, runs: tuple[Repull, ...]) -> list[Step]:
    return [
        Step(
            key=key,
            phase=phase,
            title=f"{title} ({len(run.models)} model(s))",
            statements=(run.statement(),),
            action=lambda ctx, run=run: re_pull(ctx, phase, run),
        )
        for key, run in zip(step_keys(phase, len(runs)), runs)
    ]


def input_steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    """Phase 0.5: what Phase 1 and the price-coverage check read, re-pulled first."""
    return run_steps(INPUTS_KEY, "re-pull what the cohort reads", plan.input_runs)


def input_models(plan: RefillPlan) -> list[str]:
    return [m for run in plan.input_runs for m in run.models]


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    if plan.skip_lineage:
        return []
    return run_steps(KEY, "re-pull price consumers", plan.lineage_runs)


def models(plan: RefillPlan) -> list[str]:
    return [] if plan.skip_lineage else [m for run in plan.lineage_runs for m in run.models]


# Phase 0.5 re-pulls what the cohort reads, upstream of it: a rollback leaves it as it is.
# Phase 2 re-pulls every price consumer outside the cohort, its descendants among them.
INPUTS = Phase(INPUTS_KEY, "Phase 0.5: re-pull what the cohort reads", input_steps, models=input_models)
PHASE = Phase(KEY, "Phase 2: lineage re-pull", steps, models=models, rebuilds_from_cohort=True)
