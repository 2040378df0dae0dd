"""Phase 1: rewrite the cohort's affected months, once per model per month, in graph order.

The cohort runs through the package's ``refill_swap`` materialization, switched on in a
manifest parsed with the month vars set (so every ``config()`` sees refill mode). For
each month one dbt invocation runs the whole cohort: dbt schedules a model only after
the cohort models it depends on have finished, including paths through unselected
views, and by then their month has been swapped in (REPLACE PARTITION is synchronous).
So every reader sees a final month: no duplicates to merge, no OPTIMIZE barrier, no
doubled value baked into an aggregator, and keys absent from the recompute are gone.
Months run oldest first, so a model that carries its state forward from ``{{ this }}``
(a balance, a running total) starts month M from month M-1 as this refill left it.

Each month is audited before it is published (``refill.lineage.audit``): the materialization diffs
the staged month against the live one and refuses what a prices gap does not explain; this
module gives it its parameters and turns a refusal into exit 3.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import time

from refill.dbt.graph import ProjectGraph
from refill.dbt.settings import project_vars
from refill.engine.sql import literal
from refill.errors import BadInput, StepFailed
from refill.lineage import audit
from refill.lineage import model_lineage
from refill.lineage.price_lineage import tables_of
from refill.run.phases.context import Phase, RunContext, Step
from refill.run.phases.invocation import run_statement
from refill.run.plan import RefillPlan
from refill.run.progress import say

KEY = "phase1"
MATERIALIZATION = "refill_swap"
ADAPTER = "clickhouse"

# How an incremental cohort model reaches refill_swap without ceasing to be incremental.
#
# The month rewrite must compile the model as the seed's append did: is_incremental() true,
# {{ this }} the live table, so a model that reads its previous state from its own table
# (balances, holdings, cumulative sums) starts from it. dbt's is_incremental() (dbt-clickhouse
# defines the global one) is true only while model.config.materialized is 'incremental', and a
# package cannot override that global macro (only the root project can). dbt picks the
# materialization from the same config value, so switching the config to refill_swap (what
# Phase 1 did first) made every cohort model compile as a fresh build and read no state.
#
# So the config stays 'incremental' and the *materialization* named incremental is what
# changes, for this one invocation: dbt resolves a materialization root project first, then
# the adapter (manifest.find_materialization_macro_by_name; a package cannot override a
# built-in one, the root project can), so a root-project `materialization incremental`
# added to the in-memory manifest wins. It only hands over to refill_swap. Nothing else
# runs through that manifest (Phase 1 selects exactly the cohort), and the override refuses
# any model outside the cohort, so no other model can be written by a month swap.
_ROUTE_NAME = f"materialization_incremental_{ADAPTER}"
_ROUTE_SQL = """{{% materialization incremental, adapter='{adapter}' %}}
  {{%- if model.unique_id not in {cohort} -%}}
    {{{{ exceptions.raise_compiler_error("refill: " ~ model.unique_id ~ " is not in the cohort; Phase 1's manifest writes only the cohort") }}}}
  {{%- endif -%}}
  {{{{ return(refill.materialization_{swap}_{adapter}()) }}}}
{{% endmaterialization %}}
"""


def month_vars(month: dt.date) -> dict[str, str]:
    return {"start_month": month.isoformat(), "end_month": month.isoformat()}


def route_to_swap(manifest, cohort_ids: set[str]) -> None:
    """Make ``manifest`` write the cohort through ``refill_swap``, in memory only.

    Incremental cohort models keep ``materialized='incremental'`` (so ``is_incremental()``
    is what dbt says it is) and run through a root-project ``incremental`` materialization
    that calls ``refill_swap``; any other cohort model is switched to ``refill_swap``
    itself (its from-scratch compile is what a run of it always does).
    """
    routed = sorted(uid for uid in cohort_ids if manifest.nodes[uid].config.materialized == "incremental")
    for uid in set(cohort_ids) - set(routed):
        manifest.nodes[uid].config.materialized = MATERIALIZATION
    if not routed:
        return
    root = manifest.metadata.project_name
    swap = manifest.find_materialization_macro_by_name(root, MATERIALIZATION, ADAPTER)
    if swap is None:
        raise BadInput(f"the refill package's {MATERIALIZATION} materialization is not in this project: run `dbt deps`")
    # a copy of the swap's own node (supported languages, docs), under the root project
    macro = dataclasses.replace(
        swap,
        name=_ROUTE_NAME,
        package_name=root,
        path="refill_phase1_route.sql",
        original_file_path="refill_phase1_route.sql (in memory, python/refill/run/phases/cohort.py)",
        unique_id=f"macro.{root}.{_ROUTE_NAME}",
        macro_sql=_ROUTE_SQL.format(adapter=ADAPTER, swap=MATERIALIZATION, cohort=json.dumps(routed)),
        depends_on=type(swap.depends_on)(macros=[swap.unique_id]),
    )
    manifest.macros[macro.unique_id] = macro
    # the by-name and by-package indexes are built lazily from manifest.macros
    manifest._macros_by_name = None
    manifest._macros_by_package = None


def phase1_parse_reason(plan: RefillPlan) -> str | None:
    """Why Phase 1 parses the project again with the month vars; None: it does not."""
    if not plan.month_dependent:
        return None
    return ("phase 1: parse-time config depends on the month vars: "
            + "; ".join(f"{model}: {why}" for model, why in plan.month_dependent))


def cohort_manifest(ctx: RunContext):
    """The project parsed in refill mode, with the cohort written through ``refill_swap``.

    One parse serves the whole refill when no cohort model's parse-time config depends on the
    month vars (the lint evaluates that, ``plan.month_dependent``): dbt renders the body at run
    time with the month vars anyway. The plan's manifest is copied first, as the routing
    changes it and the later phases run the non-cohort models through it."""
    if ctx.cohort_manifest is None:
        reason = phase1_parse_reason(ctx.plan)
        if reason:
            manifest = ctx.session.parse(vars=month_vars(ctx.plan.window.first_month), reason=reason)
        else:
            manifest = _routable_copy(ctx.manifest, ctx.graph.tagged(ctx.plan.settings.tag))
        graph = ProjectGraph.from_manifest(manifest)
        route_to_swap(manifest, set(graph.tagged(ctx.plan.settings.tag)))
        ctx.cohort_manifest = manifest
    return ctx.cohort_manifest


def _routable_copy(manifest, cohort_ids: set[str]):
    """A manifest sharing ``manifest``'s nodes except the cohort's, with its own macro table:
    what ``route_to_swap`` changes, without a deep copy of a 1,000-model project."""
    # dataclasses.replace, not copy.copy: Manifest.__reduce_ex__ passes its lookups
    # positionally, one field off (dbt 1.11), and ref() then fails in the copy
    return dataclasses.replace(
        manifest,
        nodes={uid: copy.deepcopy(node) if uid in cohort_ids else node for uid, node in manifest.nodes.items()},
        macros=dict(manifest.macros),
        _macros_by_name=None,
        _macros_by_package=None,
    )


def audit_var(ctx: RunContext) -> dict:
    """The ``refill_audit`` var: per cohort model its key, day column and price-derived columns
    (traced over the SQL compiled in refill mode), plus the run id and the gap days."""
    if ctx.audit_var is None:
        manifest, plan = cohort_manifest(ctx), ctx.plan
        started = time.monotonic()
        graph = ProjectGraph.from_manifest(manifest)
        cohort_ids = graph.tagged(plan.settings.tag)
        prices = graph.by_name(plan.settings.prices_model)
        names = audit_models(graph, cohort_ids, prices.unique_id)
        # one parse: the preflight compiled these already (DbtSession.compile keeps it)
        compiled = {name: node.compiled_code for name, node in ctx.session.compile(
            names, manifest=manifest if phase1_parse_reason(plan) else ctx.manifest,
            vars=month_vars(plan.window.first_month), reason="audit lineage: the cohort and its price inputs"
        ).items() if getattr(node, "compiled_code", None)}
        own = {(graph.nodes[uid].relation.database, graph.nodes[uid].relation.identifier) for uid in graph.nodes}
        read = set().union(*(tables_of(sql) for sql in compiled.values())) | own
        schema = _columns(ctx, read)
        specs = audit.build_specs(
            graph=graph, cohort_ids=cohort_ids, prices_id=prices.unique_id, compiled=compiled,
            table_meta=_table_meta(ctx, {(graph.nodes[u].relation.database, graph.nodes[u].relation.identifier) for u in cohort_ids}),
            schema=schema, unique_keys={graph.nodes[u].name: getattr(manifest.nodes[u].config, "unique_key", None)
                                        for u in cohort_ids},
            fallback_date_column=plan.settings.date_column,
            overrides=audit.price_overrides(project_vars(ctx.session.project_dir)),
        )
        say(f"[phase1] audit before publish, per cohort model (traced in {time.monotonic() - started:.1f}s: "
            f"dbt compile of {len(names)} model(s) + sqlglot):")
        for line in audit.describe_specs(specs):
            say(line)
        ctx.audit_var = audit.audit_var(plan.run_id, plan.window.gap_days, specs, dict(plan.new_columns))
    return ctx.audit_var


def audit_models(graph: ProjectGraph, cohort_ids: set[str], prices_id: str) -> list[str]:
    """The models whose compiled SQL the audit traces (the cohort and its price inputs)."""
    return [graph.nodes[uid].name for uid in audit.price_scope(graph, cohort_ids, prices_id)
            if graph.nodes[uid].materialized != "ephemeral"]


def _pairs(relations) -> str:
    return ", ".join(f"({literal(db)}, {literal(name)})" for db, name in sorted(relations)) or "('', '')"


def _columns(ctx: RunContext, relations) -> dict:
    return model_lineage.table_columns(ctx.warehouse, relations)


def _table_meta(ctx: RunContext, relations) -> dict:
    return {(db, name): (partition_key, sorting_key) for db, name, partition_key, sorting_key in ctx.warehouse.rows(
        f"SELECT database, name, any(partition_key), any(sorting_key) FROM {ctx.warehouse.system_table('tables')}"
        f" WHERE (database, name) IN ({_pairs(relations)}) GROUP BY database, name"
    )}


def rewrite_month(ctx: RunContext, month: dt.date) -> dict:
    plan = ctx.plan
    params = audit_var(ctx)
    say(f"[phase1] month={month}  rewrite {len(plan.cohort)} cohort model(s): "
        f"{len(plan.cohort_layers)} layer(s), write aside, audit, REPLACE PARTITION")
    since = ctx.warehouse.scalar("SELECT now()")
    try:
        # --fail-fast: once a month is refused, no other cohort model of it starts (and swaps);
        # the ones reading the refused model would be skipped anyway
        ctx.session.invoke(["run", "--fail-fast", "--select", *plan.cohort], manifest=cohort_manifest(ctx),
                           vars={**month_vars(month), "refill_audit": params})
    except StepFailed:
        audits = audit.read_month(ctx.warehouse, plan.schema, plan.run_id, month, since)
        refused = [a for a in audits if a.refused]
        if refused:
            for line in audit.render(audits):
                say(f"[phase1] audit  {line}")
            lines = tuple(a.refusal_line() for a in refused)
            raise audit.AuditRefused(
                "audit before publish refused " + " | ".join(lines)
                + ". Nothing of that month of that model was swapped, and no cohort model started after it (dbt "
                "--fail-fast); later months did not run.", audits, findings=lines,
                next_steps=(f"read the full diff: python -m refill report --run {plan.run_id} (or SELECT detail "
                            f"FROM {plan.schema}.{audit.AUDIT_TABLE})",)) from None
        raise
    audits = audit.read_month(ctx.warehouse, plan.schema, plan.run_id, month, since)
    for line in audit.render(audits):
        say(f"[phase1] audit  {line}")
    unaudited = sorted(set(plan.cohort) - {a.model for a in audits})
    if unaudited:
        say(f"[phase1] not audited (no live table to compare: built from scratch): {', '.join(unaudited)}")
    return {"month": month.isoformat(), "models": list(plan.cohort),
            "audit": [a.as_dict() for a in audits], "not_audited": unaudited}


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    if plan.skip_cohort or not plan.cohort:
        return []
    # window.months is oldest first: month M's rewrite reads month M-1 already final
    parse_reason = phase1_parse_reason(plan)
    once = []  # what the first month's step does for every month
    if parse_reason:
        once.append(f"dbt parse --vars '{json.dumps(month_vars(plan.window.first_month))}'"
                    f"  (once, {parse_reason}; the cohort runs as {MATERIALIZATION}, compiled incremental)")
    once.append("dbt compile --select <cohort and its price-derived inputs>  (once; column lineage for the audit"
                + ("" if parse_reason else ", the preflight's compile") + ")")
    return [
        Step(
            key=f"phase1:{month.isoformat()}",
            phase=KEY,
            title=f"rewrite month {month} of the cohort",
            statements=(
                *(once if month == plan.window.first_month else ()),
                # the month's own vars first: an abbreviated line still shows them
                run_statement(("--fail-fast", "--select", *plan.cohort), month_vars(month))
                + "  (+ var refill_audit; per model: stage, audit, swap)",
            ),
            action=lambda ctx, month=month: rewrite_month(ctx, month),
        )
        for month in plan.window.months
    ]


def models(plan: RefillPlan) -> list[str]:
    """Each cohort model once per month: one dbt run per month runs the whole cohort."""
    return [] if plan.skip_cohort else [m for _ in plan.window.months for m in plan.cohort]


PHASE = Phase(KEY, "Phase 1: cohort rewrite", steps, models=models)
