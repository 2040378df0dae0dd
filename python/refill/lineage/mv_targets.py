"""Materialized views downstream of what a refill repairs: which target months can be
rewritten from the view's SELECT, and which cannot.

A ClickHouse materialized view is an insert trigger: it sees the blocks INSERTed into the
table in its FROM and nothing else. Phase 1 publishes a cohort month with REPLACE
PARTITION, which inserts nothing, so the view's target keeps the rows it computed from the
damaged month; ``dbt run`` of an existing dbt-clickhouse ``materialized_view`` only
re-issues ``ALTER … MODIFY QUERY``. A Phase 2 re-pull of a ``delete+insert`` consumer fires
the trigger with the window's rows a second time (the lightweight DELETE is not seen), so
a target reading it doubles them. Either way the target's affected months are wrong.

refill rewrites them: each month is recomputed from the view's SELECT (what
dbt-clickhouse's catch-up inserts when it creates the target, i.e. the from-scratch
build) into a staging twin and swapped in (``refill_mv_swap``). A month of that SELECT's
output is exactly a from-scratch build's month only if the other months are unchanged by
the repair, which is proven here from the SQL (``month_local_problem``); where it is not,
the model is refused before anything is written, with the way out (var
``refill_full_refresh``: dbt rebuilds the target whole from the SELECT).

Pure logic on SQL text and graph facts: no dbt, no warehouse.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import sqlglot
from sqlglot import exp

from refill.lineage.lineage_scan import key_columns, partition_expression

MATERIALIZED_VIEW = "materialized_view"
# dbt-clickhouse's external-target mode: the model is the view, writing into another model's table
EXTERNAL_TARGET_MARKER = "materialization_target_table"

# Functions of a date that keep it in its month (a day, an hour … or the month's first
# day): an output row filed under month M then came from input rows of month M. Weeks,
# quarters and years leave the month; shifts (addDays) may.
_SAME_MONTH_CALLS = {
    "todate", "todate32", "todatetime", "todatetime64", "tostartofmonth", "tostartofday", "tostartofhour",
    "tostartofminute", "tostartoffiveminutes", "tostartoftenminutes", "tostartoffifteenminutes", "tolastdayofmonth",
    "assumenotnull", "tonullable", "identity",
}
_SAME_MONTH_UNITS = {"MONTH", "DAY", "HOUR", "MINUTE", "SECOND"}


def date_columns(partition_by) -> list[str]:
    """The columns a dbt ``partition_by`` config reads (``[]``: not partitioned)."""
    expression = partition_expression(partition_by)
    return key_columns(expression) if expression else []


def _column_through_same_month(node: exp.Expression) -> exp.Column | None:
    """The column ``node`` reads, when it is that column or a same-month function of it."""
    while True:
        if isinstance(node, exp.Column):
            return node
        if isinstance(node, exp.Paren):
            node = node.this
        elif isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEMPORAL_TYPES):
            node = node.this
        elif isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and node.unit is not None \
                and node.unit.name.upper() in _SAME_MONTH_UNITS:
            node = node.this
        elif isinstance(node, (exp.TsOrDsToDate, exp.TimeStrToDate, exp.LastDay)):
            node = node.this
        elif isinstance(node, exp.Anonymous) and node.name.lower() in _SAME_MONTH_CALLS and node.expressions:
            node = node.expressions[0]
        else:
            return None


def _tables(select: exp.Select) -> dict[str, tuple[str, str]]:
    """``{name or alias: (database, table)}`` of the relations a SELECT reads directly."""
    found = {}
    for source in [select.args.get("from_") or select.args.get("from"), *(select.args.get("joins") or [])]:
        if source is None:
            continue
        table = source.this
        if isinstance(table, exp.Table):
            found[table.alias_or_name] = (table.db, table.name)
    return found


def month_local_problem(sql: str, target_dates: Iterable[str], source_dates: Mapping[tuple[str, str], Iterable[str]],
                        repaired: Iterable[tuple[str, str]]) -> str | None:
    """Why rewriting only the repaired months of a view's target may not equal a
    from-scratch build, or None when it provably does.

    ``sql`` is the view's compiled SELECT (UNION ALL branches for dbt-clickhouse's several
    views per model); ``target_dates`` the columns the target's partition key reads;
    ``source_dates`` the partition-key date columns of every model table, by (database,
    table); ``repaired`` the tables this refill changes. Proven when every branch reads
    its rows from plain tables (no subquery, CTE or window function, no LIMIT), files each
    output row under the month of a repaired source's own partition date (the column, or
    a same-month function of it, never an aggregate of it), and joins any other repaired
    table on that date: then a source month changes only the same target month.
    """
    try:
        tree = sqlglot.parse_one(sql, read="clickhouse")
    except sqlglot.errors.ParseError as exc:
        return f"its SELECT does not parse with sqlglot ({str(exc).splitlines()[0]})"
    if tree.find(exp.Window):
        return "its SELECT has a window function: a month's rows read other months"
    if tree.find(exp.Subquery) or tree.find(exp.CTE):
        return "its SELECT reads a subquery or CTE: refill cannot prove a month's rows read only that month"
    if tree.find(exp.Limit):
        return "its SELECT has a LIMIT: a month's rows depend on the others"
    dates = [c for c in target_dates]
    if not dates:
        return "its target is not partitioned"
    repaired = set(repaired)
    branches = list(tree.find_all(exp.Select))
    if not branches:
        return "its SQL is not a SELECT"
    for select in branches:
        # the month element of the key is one of its columns (the warehouse's partitioning
        # check allows exactly one); others (a token) only subdivide the month
        reasons = [_month_column_problem(select, name, source_dates, repaired) for name in dates]
        if all(reasons):
            return reasons[0]
    return None


def _month_column_problem(select: exp.Select, name: str, source_dates: Mapping[tuple[str, str], Iterable[str]],
                          repaired: set[tuple[str, str]]) -> str | None:
    """Why the output column ``name`` of one SELECT branch may not lie in the month of the
    repaired source rows it reads, or None."""
    tables = _tables(select)
    projected = {p.alias_or_name: (p.this if isinstance(p, exp.Alias) else p) for p in select.expressions}
    expression = projected.get(name)
    if expression is None:
        return f"its target's partition column {name} is not one of the SELECT's columns"
    if expression.find(exp.AggFunc):
        return f"its target's partition column {name} is an aggregate: a month's row reads other months"
    column = _column_through_same_month(expression)
    if column is None:
        return (f"its target's partition column {name} is {expression.sql('clickhouse')}, not a date of its"
                " source or a same-month function of one")
    if column.table:
        source = tables.get(column.table)
    else:
        source = next(iter(tables.values())) if len(tables) == 1 else None
    if source is None:
        return f"refill cannot tell which table its partition column {name} comes from"
    if source in repaired and column.name not in set(source_dates.get(source, ())):
        return (f"its partition column {name} reads {column.name} of {source[0]}.{source[1]}, which is not"
                " that table's partition date: a repaired month of it may land in other months")
    for alias, other in tables.items():
        if other != source and other in repaired and not _joined_on(select, alias, column):
            return (f"it joins {other[0]}.{other[1]}, which this refill repairs too, on something other than"
                    f" {column.sql('clickhouse')}: a repaired month of it may reach other months")
    return None


def _joined_on(select: exp.Select, alias: str, date: exp.Column) -> bool:
    """Whether the JOIN of ``alias`` ties it to ``date``: ``USING (date)``, or an equality of
    one of its columns with ``date``."""
    for join in select.args.get("joins") or []:
        if join.this.alias_or_name != alias:
            continue
        if any(u.name == date.name for u in join.args.get("using") or []):
            return True
        for eq in (join.args.get("on") or exp.true()).find_all(exp.EQ):
            for a, b in ((eq.left, eq.right), (eq.right, eq.left)):
                if isinstance(a, exp.Column) and isinstance(b, exp.Column) and a.table == alias \
                        and b.name == date.name and b.table in (date.table, ""):
                    return True
    return False
