"""Schema drift between a cohort model's month recompute and its live table: found in
preflight, before any month is swapped.

A month is swapped in with ``REPLACE PARTITION``, which needs the staging table and the live
table to hold the same columns with the same types (column order does not matter); anything
else fails with Code 122 in the middle of Phase 1, after other models' months were already
replaced. So each cohort model's recompute (compiled as Phase 1 compiles it) is compared with
its table first, and the model's ``on_schema_change`` decides, as dbt's incremental would:

* ``append_new_columns`` / ``sync_all_columns``: a new column is added to the table
  (``ADD COLUMN``, at the end, as dbt-clickhouse does: the months outside the window read
  the column's default); ``sync_all_columns`` also drops a column the model no longer has;
* ``ignore`` (dbt's default) and ``fail``: dbt's own incremental fails on a changed column
  set (dbt-clickhouse inserts by the table's column list), so refill refuses it;
* a changed type is refused under every setting: the months outside the window keep the old
  type, a swap cannot mix them, and ``MODIFY COLUMN`` rewrites the whole table (a migration,
  not a refill). dbt-clickhouse compares types without their ``Nullable``/``LowCardinality``
  wrapper and would miss a column turning ``Nullable``; here the full type names are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from refill.engine.sql import ident, literal
from refill.errors import PreflightProblem

KIND = "schema-drift"
ON_SCHEMA_CHANGE = ("ignore", "fail", "append_new_columns", "sync_all_columns")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # ClickHouse's own type name, e.g. 'Nullable(Float64)'


@dataclass(frozen=True)
class SchemaChanges:
    """The ALTERs a cohort table needs before its months can be swapped (dbt's own
    ``append_new_columns`` / ``sync_all_columns`` changes)."""

    model: str
    schema: str
    table: str
    add: tuple[Column, ...] = ()
    drop: tuple[str, ...] = ()

    def statements(self, on_cluster: str = "") -> list[str]:
        target = f"ALTER TABLE {ident(self.schema)}.{ident(self.table)}{on_cluster}"
        return ([f"{target} ADD COLUMN IF NOT EXISTS {ident(c.name)} {c.type}" for c in self.add]
                + [f"{target} DROP COLUMN IF EXISTS {ident(name)}" for name in self.drop])


def compare(
    model: str,
    relation: tuple[str, str],
    live: Sequence[Column],
    recompute: Sequence[Column],
    on_schema_change: str | None,
) -> tuple[SchemaChanges | None, list[PreflightProblem]]:
    """What to do with a table whose columns are ``live`` when the month recompute yields
    ``recompute``: the ALTERs dbt's incremental would apply, or the problem that refuses it."""
    mode = on_schema_change if on_schema_change in ON_SCHEMA_CHANGE else "ignore"
    table = f"{relation[0]}.{relation[1]}"
    live_types = {c.name: c.type for c in live}
    new_types = {c.name: c.type for c in recompute}
    added = tuple(c for c in recompute if c.name not in live_types)
    removed = tuple(c.name for c in live if c.name not in new_types)
    retyped = [f"{c.name} is {live_types[c.name]} in {table}, {c.type} in the model"
               for c in recompute if c.name in live_types and live_types[c.name] != c.type]

    problems = []
    if retyped:
        problems.append(PreflightProblem(KIND, model, (
            f"column type changed ({'; '.join(retyped)}): a month swap needs the table's types and the months "
            f"outside the window keep the old ones; migrate the table first (ALTER TABLE … MODIFY COLUMN, or "
            f"dbt run --full-refresh --select {model})")))
    set_change = _describe(added, removed)
    if set_change and (mode in ("ignore", "fail") or (removed and mode == "append_new_columns")):
        problems.append(PreflightProblem(KIND, model, (
            f"{set_change} with on_schema_change='{mode}' (dbt's incremental fails on this too): set "
            f"on_schema_change='{'sync_all_columns' if removed else 'append_new_columns'}' or migrate {table} first")))
    if problems or not set_change:
        return None, problems
    drop = removed if mode == "sync_all_columns" else ()
    return SchemaChanges(model, relation[0], relation[1], add=added, drop=drop), []


def _describe(added: Sequence[Column], removed: Sequence[str]) -> str:
    parts = []
    if added:
        parts.append("the model adds column(s) " + ", ".join(c.name for c in added))
    if removed:
        parts.append("no longer has column(s) " + ", ".join(removed))
    return " and ".join(parts)


# -- the engine side: compile the cohort as Phase 1 does, read both column lists ------------

def table_columns(warehouse, schema: str, table: str) -> list[Column] | None:
    """The live table's columns in order, or None when it does not exist (on a cluster, as
    every replica has it: a replica that differs shows the column twice, and fails the check)."""
    exists = warehouse.scalar(f"SELECT count() FROM {warehouse.system_table('tables')}"
                              f" WHERE database = {literal(schema)} AND name = {literal(table)}")
    if not exists:
        return None
    rows = warehouse.rows(
        f"SELECT DISTINCT name, type, position FROM {warehouse.system_table('columns')}"
        f" WHERE database = {literal(schema)} AND table = {literal(table)} ORDER BY position, type")
    return [Column(name, type_) for name, type_, _ in rows]


def query_columns(warehouse, sql: str, settings: dict | None = None) -> list[Column]:
    """The columns ``sql`` yields, typed by the server without running it (``DESCRIBE``)."""
    rows = warehouse.rows(f"DESCRIBE TABLE (\n{sql}\n)", settings=settings or None)
    return [Column(row[0], row[1]) for row in rows]


def check_cohort(session, manifest, graph, cohort_ids: set[str], month_vars: dict[str, str], warehouse,
                 also: Sequence[str] = ()) -> tuple[list[SchemaChanges], list[PreflightProblem]]:
    """Compile the cohort as Phase 1 will (``is_incremental()`` true, the first month's vars,
    one ``dbt compile`` on the already parsed manifest) and compare each model with its table.

    Returns the ALTERs to apply before the backup and the problems that refuse the run
    (``kind='schema-drift'``; ``kind='relation'`` for a cohort model that has no table).
    ``also`` are more models to compile in the same invocation (the audit's, see
    ``DbtSession.compile``).
    """
    if not cohort_ids:
        return [], []
    names = graph.names(sorted(cohort_ids))
    nodes = session.compile([*names, *(n for n in also if n not in names)], manifest=manifest, vars=month_vars,
                            reason="schema drift check and audit lineage: the cohort compiled for its first month")
    compiled = {node.unique_id: node for node in nodes.values() if node.unique_id in cohort_ids}
    changes, problems = [], []
    for uid in sorted(cohort_ids):
        node, model = graph.nodes[uid], compiled[uid]
        live = table_columns(warehouse, node.relation.database, node.relation.identifier)
        if live is None:
            problems.append(PreflightProblem("relation", node.name, (
                f"has no table {node.relation}: a refill rewrites months of a built table, and a "
                f"month of a model that reads only its window is not the whole model; build it first "
                f"(dbt run --select {node.name})")))
            continue
        settings = dict(model.config.get("query_settings") or {})
        recompute = query_columns(warehouse, model.compiled_code, settings)
        change, found = compare(node.name, (node.relation.database, node.relation.identifier), live, recompute,
                                model.config.get("on_schema_change"))
        problems += found
        if change is not None:
            changes.append(change)
    return changes, problems
