"""What the plan asks the engine and dbt about the lineage before anything runs: the
partitions each model's window writes, and the incremental windows that ignore the var.

Reads only (a SELECT over no table, system tables, ``dbt compile``); nothing is written.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping, Sequence

import sqlglot
from sqlglot import exp

from refill.sql import ident, literal, table
from refill.warehouse import Warehouse

_DATE_TYPES = ("Date", "DateTime", "Nullable(Date", "Nullable(DateTime", "LowCardinality(Date")
_WHOLE_TABLE = frozenset({"all"})


def partition_expression(partition_by) -> str | None:
    """dbt-clickhouse's ``partition_by`` (a string or a list) as one SQL expression."""
    if not partition_by:
        return None
    if isinstance(partition_by, (list, tuple)):
        return "tuple(" + ", ".join(str(p) for p in partition_by) + ")"
    return str(partition_by)


def key_columns(expression: str) -> list[str]:
    """The columns a partition (or unique) key expression reads, in order of appearance."""
    found: list[str] = []
    for column in sqlglot.parse_one(expression, read="clickhouse").find_all(exp.Column):
        if column.name not in found:
            found.append(column.name)
    return found


def day_partitions(warehouse: Warehouse, schema: str, relation: str, partition_by,
                   days: Sequence[dt.date]) -> list[frozenset[str]]:
    """The partitions each of ``days`` writes in ``schema.relation`` under ``partition_by``.

    A key of one column is evaluated by the engine itself on each day (exact, whatever the
    expression: ``date``, ``toYYYYMM(block_date)``, ``toMonday(d)`` …). A key that also reads
    other columns (``(toYYYYMM(day), chain)``) is counted on the table's real rows; a day
    with no rows yet counts as one partition of its own.
    """
    expression = partition_expression(partition_by)
    if not expression or not days:
        return [_WHOLE_TABLE] * len(days)
    columns = key_columns(expression)
    if not columns:
        return [_WHOLE_TABLE] * len(days)
    day_list = ", ".join(literal(d) for d in days)
    if len(columns) == 1:
        rows = warehouse.rows(
            f"SELECT toString({ident(columns[0])}), toString({expression})"
            f" FROM (SELECT arrayJoin([{day_list}]) AS {ident(columns[0])})"
        )
        by_day = {dt.date.fromisoformat(day): frozenset({key}) for day, key in rows}
        return [by_day[d] for d in days]
    types = dict(warehouse.rows(
        f"SELECT name, any(type) FROM {warehouse.system_table('columns')}"
        f" WHERE database = {literal(schema)} AND table = {literal(relation)} GROUP BY name"
    ))
    date_columns = [c for c in columns if types.get(c, "").startswith(_DATE_TYPES)]
    if not date_columns:
        # the partitions do not follow the day: every run writes all of them
        count = warehouse.scalar(f"SELECT uniqExact(_partition_id) FROM {table(schema, relation)}") or 1
        return [frozenset(f"p{i}" for i in range(int(count)))] * len(days)
    day = f"toDate({ident(date_columns[0])})"
    rows = warehouse.rows(
        f"SELECT toString({day}) AS d, groupUniqArray(_partition_id) FROM {table(schema, relation)}"
        f" WHERE {day} BETWEEN {literal(days[0])} AND {literal(days[-1])} GROUP BY d"
    )
    found = {dt.date.fromisoformat(d): frozenset(ids) for d, ids in rows}
    return [found.get(d) or frozenset({f"new:{d}"}) for d in days]


def populated(warehouse: Warehouse, relations: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (schema, table) of ``relations`` that exist and hold rows (an incremental run of
    one that does not is a full build, whatever its window)."""
    wanted = sorted(set(relations))
    if not wanted:
        return set()
    pairs = ", ".join(f"({literal(s)}, {literal(t)})" for s, t in wanted)
    rows = warehouse.rows(
        f"SELECT database, name FROM {warehouse.system_table('tables')}"
        f" WHERE (database, name) IN ({pairs}) GROUP BY database, name HAVING sum(total_rows) > 0"
    )
    return {(s, t) for s, t in rows}


def compiled_sql(session, manifest, names: Sequence[str], vars: Mapping) -> dict[str, str]:
    """``{model: compiled SQL}`` of ``names`` rendered with ``vars`` against the parsed manifest."""
    nodes = session.compile(names, manifest=manifest, vars=dict(vars),
                            reason=f"window check: {', '.join(f'{k}={v}' for k, v in vars.items())}")
    return {name: node.compiled_code for name, node in nodes.items()}


def windows_ignoring_lookback(session, manifest, names: Sequence[str], lookback_days: int) -> list[str]:
    """Incremental models whose SQL is the same whether ``price_lookback_days`` is
    ``lookback_days`` or one more: their window does not follow the var, so a re-pull keeps
    the gap (a hand-written ``where d >= (select max(d) from {{ this }})``, a lookback of
    their own). Two compiles, as the check compares two values of the var: neither can be
    shared with the month compile, whose ``start_month`` switches the filter macro's branch."""
    if not names:
        return []
    first = compiled_sql(session, manifest, names, {"price_lookback_days": lookback_days})
    second = compiled_sql(session, manifest, names, {"price_lookback_days": lookback_days + 1})
    return sorted(n for n in names if n in first and first[n] == second.get(n))
