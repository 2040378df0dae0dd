"""Phase 4: prove the result on every model refill wrote — its price-derived columns (column
lineage) hold no 0/NULL on the gap days where the entity has a price, its weeks and months equal a
recompute, no duplicate keys in a swapped month (unmerged duplicates elsewhere are reported, not
damage), and the canary again."""

from __future__ import annotations

import json
import shlex

from refill import render
from refill.dbt.graph import ProjectGraph, Relation
from refill.dbt.settings import project_vars
from refill.engine.sql import ident, literal
from refill.errors import BadInput
from refill.lineage import audit
from refill.lineage import model_lineage
from refill.run import checks
from refill.run.phases import canary
from refill.run.phases.check_failure import fail_with_rollback
from refill.run.phases.context import Phase, RunContext, Step
from refill.run.plan import RefillPlan
from refill.run.progress import say

KEY = "phase4"


def priced_days_sql(plan: RefillPlan, column: str | None = None) -> str:
    column = column or plan.settings.date_column
    return f"SELECT DISTINCT toDate({ident(column)}) FROM {plan.relation(plan.settings.prices_model).sql}"


def missing_relations(warehouse, relations: list[Relation]) -> list[Relation]:
    """``relations`` no table or view of the target holds: a check of one finds no column and
    would pass it unread, so each is a verification failure of its own."""
    if not relations:
        return []
    databases = ", ".join(literal(d) for d in sorted({r.database for r in relations}))
    present = {Relation(str(d), str(n)) for d, n in warehouse.rows(
        f"SELECT DISTINCT database, name FROM {warehouse.system_table('tables')} WHERE database IN ({databases})")}
    return [r for r in relations if r not in present]


def prices_date_column(ctx: RunContext) -> str | None:
    """The prices model's own date column (``price_date``, ``day`` …), not a global name:
    reading a ``date`` column it does not have made verify fail on its own query."""
    plan, warehouse = ctx.plan, ctx.warehouse
    prices = plan.relation(plan.settings.prices_model)
    columns = checks.relation_columns(warehouse, prices.database, prices.identifier)
    return checks.date_column_of(warehouse, prices.database, prices.identifier, columns, plan.settings.date_column)


def prices_entities(ctx: RunContext, day_column: str) -> tuple[str, ...]:
    """The prices model's entity columns, as the price-coverage check tells them (var
    ``refill_price_entity``, a canary's group_by, its unique_key, else its string columns);
    () when they cannot be told (then damage is judged per day)."""
    from refill.run.phases.preflight import price_entity

    prices = ctx.plan.relation(ctx.plan.settings.prices_model)
    columns = checks.relation_columns(ctx.warehouse, prices.database, prices.identifier)
    try:
        return price_entity(ctx.plan, columns)[0]
    except BadInput as exc:
        say(f"[phase4] zero USD judged per day, not per entity: {exc.message}")
        return ()


def traced_models(ctx: RunContext, names: list[str]):
    """``({model: ModelLineage}, grain_of(model, date column))`` of ``names`` from the column
    lineage of their compiled SQL: the source the audit before publish reads as well."""
    plan = ctx.plan
    models, schema = model_lineage.trace(
        ctx.session, ctx.manifest, ctx.graph, ctx.warehouse, plan.settings.prices_model, names,
        audit.price_overrides(project_vars(ctx.session.project_dir, ctx.session.cli_vars)))
    holders = {(m.database.lower(), m.table.lower()): m.name for m in models.values()}
    memo: dict = {}

    def grain_of(model: str, column: str):
        return model_lineage.grain(models, schema, holders, model, column, memo=memo)

    return models, grain_of


def verify(ctx: RunContext) -> dict:
    plan, warehouse = ctx.plan, ctx.warehouse
    scope = list(dict.fromkeys((*plan.input_models, *plan.cohort, *plan.lineage_models, *plan.downstream_models)))
    ephemeral = [n for n in scope if (node := ctx.graph.by_name(n)) is not None and node.materialized == "ephemeral"]
    built_names = [n for n in scope if n not in ephemeral]
    built = [plan.relation(n) for n in built_names]
    missing = missing_relations(warehouse, built)
    prices_day = prices_date_column(ctx)
    entities = prices_entities(ctx, prices_day) if prices_day else ()
    prices_relation = plan.relation(plan.settings.prices_model).sql
    models, grain_of = traced_models(ctx, built_names)
    scan = checks.price_damage_scan(
        warehouse, [models[n] for n in built_names if n in models], plan.window.gap_days,
        grain_of=grain_of, date_column=plan.settings.date_column,
        priced_days_sql=priced_days_sql(plan, prices_day) if prices_day else None,
        entity_columns=entities,
        priced_entity_days_sql=(f"SELECT DISTINCT {', '.join(ident(c) for c in entities)}, toDate({ident(prices_day)})"
                                f" FROM {prices_relation}") if entities else None,
    )
    for name in built_names:
        if name not in models and name not in scan.not_checked:
            scan.not_checked[name] = "not a model dbt compiled (no SQL to trace)"
    for name in ephemeral:
        scan.not_checked[name] = "ephemeral: dbt inlines it into its readers, which are checked"
    show = lambda sql: ctx.session.show(sql, manifest=ctx.manifest)  # noqa: E731
    duplicates: list[tuple[str, checks.DuplicateKeys]] = []  # (database, finding)
    for database, tables in plan.tables_by_database(built_names).items():
        duplicates += [(database, d) for d in checks.duplicate_keys(warehouse, database, tables, plan.window.months,
                                                                    show=show)]
    # Physical duplicates in a partition refill swapped itself break its own promise (a swapped
    # month is exactly the recompute's rows): a failure. Elsewhere they are what the model's own
    # strategy leaves until the next merge (an append into a ReplacingMergeTree does so after
    # every daily run): readers with FINAL, and every reader after the merge, get one row per key,
    # so they are reported with the command that merges them, not counted as damage (exit 3 would
    # ask for a rollback that undoes a correct repair).
    swapped_models = set(plan.cohort) if not plan.skip_cohort else set()
    name_of = {(plan.relation(n).database, plan.relation(n).identifier): n for n in built_names}
    swapped = [d for db, d in duplicates if name_of.get((db, d.relation)) in swapped_models]
    unmerged = [(db, d) for db, d in duplicates if name_of.get((db, d.relation)) not in swapped_models]
    violations = canary.scan_all(ctx)
    problems = [f"{r} does not exist, so it was not checked" for r in missing]
    problems += [f"{z.relation}.{z.column} is 0/NULL on {z.day} in {z.rows} row(s) where a price exists"
                 for z in scan.zero]
    problems += [f"{p.relation} period {p.period} differs from a recompute of its SQL in {p.rows} key(s)"
                 f" ({', '.join(p.columns) or 'keys only on one side'})" for p in scan.periods]
    problems += [f"{d.relation} partition {d.partition_id} holds {d.duplicates} duplicate key(s) ({d.key}) in a "
                 "month refill swapped" for d in swapped]
    problems += [f"canary {v.describe()}" for v in violations]
    say(f"[phase4] damage check: {len(scan.checked)} of {len(scope)} model(s) checked on "
        f"{len(plan.window.gap_days)} gap day(s); {len(scan.zero)} zero-value finding(s), "
        f"{len(scan.periods)} week/month period(s) off their recompute")
    say(f"[phase4] {len(swapped)} duplicate-key partition(s) in swapped months, {len(violations)} canary violation(s)")
    for name, how in scan.checked.items():
        say(f"[phase4] checked: {name}: {how}")
    for name, reason in scan.not_checked.items():
        say(f"[phase4] not checked: {name}: {reason}")
    for db, d in unmerged:
        args = json.dumps({"database": db, "tables": [d.relation], "partitions": [m.isoformat() for m in plan.window.months]})
        say(f"[phase4] physical duplicates (not damage: FINAL and the next merge read one row per key): "
            f"{db}.{d.relation} partition {d.partition_id} holds {d.duplicates} unmerged duplicate key(s) ({d.key})")
        # a command is printed whole (a clipped one cannot be pasted); merging is a choice, not a step
        render.emit(f"[phase4]   to merge now: python -m refill dbt run-operation refill.optimize_partitions_final "
                    f"--args {shlex.quote(args)}")
    physical = [{"model": name_of.get((db, d.relation), d.relation), "relation": f"{db}.{d.relation}",
                 "partition_id": d.partition_id, "key": d.key, "duplicates": d.duplicates} for db, d in unmerged]
    details = {"models_checked": len(scan.checked), "checked": sorted(scan.checked), "how_checked": scan.checked,
               "not_checked": scan.not_checked, "zero_usd": len(scan.zero), "periods_off_recompute": len(scan.periods),
               "duplicate_partitions": len(swapped), "physical_duplicates_not_damage": physical,
               "canary_violations": len(violations), "problems": problems}
    if problems:
        fail_with_rollback(ctx, "verification", problems, details)
    return details


def steps(plan: RefillPlan, graph: ProjectGraph) -> list[Step]:
    return [
        Step(
            key="phase4",
            phase=KEY,
            title="verify: price-derived columns per entity and day (weeks, months: against a recompute), "
                  "duplicate keys, canary",
            statements=("dbt compile --full-refresh of the models written; sqlglot column lineage from the prices model",
                        f"SELECT … WHERE <price value column> = 0 AND day IN gap days AND (entity, day) priced"
                        f" ({priced_days_sql(plan)})",
                        "SELECT … stored week/month FULL OUTER JOIN the model's SQL recomputed for that period",
                        "SELECT count() - uniqExact(sorting key) per touched partition of every model written",
                        *("canary again" for _ in plan.settings.canaries[:1])),
            action=verify,
        )
    ]


PHASE = Phase(KEY, "Phase 4: verify", steps)
