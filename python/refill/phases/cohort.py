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
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from refill.errors import BadInput
from refill.graph import ProjectGraph
from refill.phases.context import RefillPlan, RunContext, Step
from refill.phases.invocation import run_statement

PHASE = "phase1"
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
        original_file_path="refill_phase1_route.sql (in memory, python/refill/phases/cohort.py)",
        unique_id=f"macro.{root}.{_ROUTE_NAME}",
        macro_sql=_ROUTE_SQL.format(adapter=ADAPTER, swap=MATERIALIZATION, cohort=json.dumps(routed)),
        depends_on=type(swap.depends_on)(macros=[swap.unique_id]),
    )
    manifest.macros[macro.unique_id] = macro
    # the by-name and by-package indexes are built lazily from manifest.macros
    manifest._macros_by_name = None
    manifest._macros_by_package = None


def cohort_manifest(ctx: RunContext):
    """The project parsed in refill mode, with the cohort written through ``refill_swap``."""
    if ctx._cohort_manifest is None:
        manifest = ctx.session.parse(vars=month_vars(ctx.plan.window.first_month))
        graph = ProjectGraph.from_manifest(manifest)
        route_to_swap(manifest, set(graph.tagged(ctx.plan.settings.tag)))
        ctx._cohort_manifest = manifest
    return ctx._cohort_manifest


def rewrite_month(ctx: RunContext, month: dt.date) -> dict:
    print(f"[phase1] month={month}  rewrite {len(ctx.plan.cohort)} cohort model(s): "
          f"{len(ctx.plan.cohort_layers)} layer(s), write aside + REPLACE PARTITION", flush=True)
    ctx.session.invoke(["run", "--select", *ctx.plan.cohort], manifest=cohort_manifest(ctx), vars=month_vars(month))
    return {"month": month.isoformat(), "models": list(ctx.plan.cohort)}


def steps(plan: RefillPlan) -> list[Step]:
    if plan.skip_cohort or not plan.cohort:
        return []
    # window.months is oldest first: month M's rewrite reads month M-1 already final
    return [
        Step(
            key=f"phase1:{month.isoformat()}",
            phase=PHASE,
            title=f"rewrite month {month} of the cohort",
            statements=(
                f"dbt parse --vars '{json.dumps(month_vars(plan.window.first_month))}'"
                f"  (once; the cohort runs as {MATERIALIZATION}, compiled incremental)",
                run_statement(("--select", *plan.cohort), month_vars(month)),
            ),
            action=lambda ctx, month=month: rewrite_month(ctx, month),
        )
        for month in plan.window.months
    ]
