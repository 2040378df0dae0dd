"""Phase 4: prove the result — no zero/NULL USD on the gap days where a price exists, no
duplicate keys in any touched partition, and the canary again."""

from __future__ import annotations

import json
import shlex

from refill import checks
from refill.errors import BadInput, CheckFailed
from refill.graph import Relation
from refill.phases import canary
from refill.phases.context import RefillPlan, RunContext, Step
from refill.progress import say
from refill.sql import ident, literal

PHASE = "phase4"


def rollback_command(ctx: RunContext) -> str:
    session, plan = ctx.session, ctx.plan
    parts = ["python", "-m", "refill", "rollback", "--run", plan.run_id, "--project-dir", str(session.project_dir),
             "--profiles-dir", str(session.profiles_dir), "--target", plan.target]
    if ctx.state_root:
        parts += ["--state-dir", str(ctx.state_root)]
    if session.cli_vars:  # a project that needs --vars to parse needs them to roll back
        parts += ["--vars", json.dumps(dict(session.cli_vars), sort_keys=True, default=str)]
    return shlex.join(parts)


def fail_with_rollback(ctx: RunContext, what: str, problems: list[str]) -> None:
    shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
    hint = (f" Backups of the rewritten months are kept; to restore them: {rollback_command(ctx)}"
            if not ctx.plan.skip_cohort else "")
    raise CheckFailed(f"{what} failed: {shown}.{hint}")


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
    from refill.phases.preflight import price_entity

    prices = ctx.plan.relation(ctx.plan.settings.prices_model)
    columns = checks.relation_columns(ctx.warehouse, prices.database, prices.identifier)
    try:
        return price_entity(ctx.plan, columns)[0]
    except BadInput as exc:
        say(f"[phase4] zero USD judged per day, not per entity: {exc.message}")
        return ()


def verify(ctx: RunContext) -> dict:
    plan, warehouse = ctx.plan, ctx.warehouse
    scope = list(dict.fromkeys((*plan.input_models, *plan.cohort, *plan.lineage_models, *plan.downstream_models)))
    built = [plan.relation(n) for n in scope
             if (node := ctx.graph.by_name(n)) is None or node.materialized != "ephemeral"]
    missing = missing_relations(warehouse, built)
    prices_day = prices_date_column(ctx)
    entities = prices_entities(ctx, prices_day) if prices_day else ()
    prices_relation = plan.relation(plan.settings.prices_model).sql
    scan = checks.ZeroUsdScan([], [], {})
    for database, tables in plan.tables_by_database(scope).items():
        found = checks.zero_usd_scan(
            warehouse, database, tables, plan.window.gap_days, date_column=plan.settings.date_column,
            priced_days_sql=priced_days_sql(plan, prices_day) if prices_day else None,
            entity_columns=entities,
            priced_entity_days_sql=(f"SELECT DISTINCT {', '.join(ident(c) for c in entities)}, toDate({ident(prices_day)})"
                                    f" FROM {prices_relation}") if entities else None,
        )
        scan.findings.extend(found.findings)
        scan.checked.extend(found.checked)
        scan.not_checked.update(found.not_checked)
    zero_usd = scan.findings
    duplicates = []
    for database, tables in plan.tables_by_database(plan.cohort).items():
        duplicates += checks.duplicate_keys(warehouse, database, tables, plan.window.months,
                                           show=lambda sql: ctx.session.show(sql, manifest=ctx.manifest))
    violations = canary.scan_all(ctx)
    problems = [f"{r} does not exist, so it was not checked" for r in missing]
    problems += [f"{z.relation}.{z.column} is 0/NULL on {z.day} in {z.rows} row(s) where a price exists"
                for z in zero_usd]
    problems += [f"{d.relation} partition {d.partition_id} holds {d.duplicates} duplicate key(s) ({d.key})"
                 for d in duplicates]
    problems += [f"canary {v.describe()}" for v in violations]
    say(f"[phase4] zero-USD check: {len(scan.checked)} of {len(scope)} model(s) checked on "
        f"{len(plan.window.gap_days)} gap day(s); {len(zero_usd)} zero-USD finding(s), "
        f"{len(duplicates)} duplicate-key partition(s), {len(violations)} canary violation(s)")
    for name, reason in scan.not_checked.items():
        say(f"[phase4] not checked for zero USD: {name}: {reason}")
    if problems:
        fail_with_rollback(ctx, "verification", problems)
    return {"models_checked": len(scan.checked), "checked": scan.checked, "not_checked": scan.not_checked,
            "zero_usd": 0, "duplicate_partitions": 0, "canary_violations": 0}


def steps(plan: RefillPlan) -> list[Step]:
    return [
        Step(
            key="phase4",
            phase=PHASE,
            title="verify: zero-USD rows, duplicate keys, canary",
            statements=(f"SELECT … WHERE *_usd = 0 AND day IN gap days AND day IN ({priced_days_sql(plan)})",
                        "SELECT count() - uniqExact(sorting key) per touched partition of the cohort",
                        *("canary again" for _ in plan.settings.canaries[:1])),
            action=verify,
        )
    ]


