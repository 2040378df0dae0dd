"""What the plan asks the engine and dbt about the lineage before anything runs: the
partitions each model's window writes, and the incremental windows that ignore the var.

Reads only (a SELECT over no table, system tables, ``dbt compile``); nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable, Mapping, Sequence

import sqlglot
from sqlglot import exp

from refill.engine.sql import ident, literal, table
from refill.engine.warehouse import Warehouse

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


# The value the window check compiles the var with first: a number no model's SQL holds by chance,
# so finding it (or it less one, what the package's filter renders) in a compiled model shows the
# value reached that model's SQL, and a second compile of it is not needed.
WINDOW_PROBE_DAYS = 4523


def follows_probe(compiled: str, raw: str, probe: int = WINDOW_PROBE_DAYS) -> bool:
    """Whether ``compiled`` (a model's SQL compiled with ``price_lookback_days = probe``) shows
    the value: ``probe`` or ``probe - 1`` as a number of its own (not part of ``0.4523`` or
    ``x4523``), and ``raw`` (its Jinja source) holds neither, so the number came from the var."""
    def holds(text: str) -> bool:
        return any(re.search(rf"(?<![\w.]){value}(?![\w.])", text) for value in (probe, probe - 1))

    return holds(compiled) and not holds(raw)


def windows_ignoring_lookback(session, manifest, names: Sequence[str], lookback_days: int) -> list[str]:
    """Incremental models whose SQL is the same whether ``price_lookback_days`` is one value or
    the next: their window does not follow the var, so a re-pull keeps the gap (a hand-written
    ``where d >= (select max(d) from {{ this }})``, a lookback of their own).

    One compile of all of them with ``WINDOW_PROBE_DAYS``; a model whose SQL then holds that
    number follows the var (``follows_probe``). Only the others (a window the var reaches as a
    computed date, or not at all) are compiled again with ``lookback_days`` (the run's value)
    and compared: in a project whose windows call the package's filter, one compile instead of
    two. Neither can be shared with the month compile, whose ``start_month`` switches the filter
    macro's branch."""
    if not names:
        return []
    first = session.compile(names, manifest=manifest, vars={"price_lookback_days": WINDOW_PROBE_DAYS},
                            reason=f"window check: price_lookback_days={WINDOW_PROBE_DAYS}")
    unsure = [n for n in names if n in first
              and not follows_probe(first[n].compiled_code or "", getattr(first[n], "raw_code", "") or "")]
    if not unsure:
        return []
    # the run's own value against the probe: a window that clamps the var still differs
    other = lookback_days if lookback_days != WINDOW_PROBE_DAYS else lookback_days + 1
    second = compiled_sql(session, manifest, unsure, {"price_lookback_days": other})
    return sorted(n for n in unsure if first[n].compiled_code == second.get(n))
