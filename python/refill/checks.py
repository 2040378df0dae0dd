"""Data checks on the warehouse: zero-USD rows where a price exists, duplicate keys.

Used by Phase 4 (verify) and by ``detect``. Columns and keys are discovered from the
engine's system tables, so no per-model configuration is needed. On a cluster the system
tables are read on every replica and the rows of MergeTree tables once per shard.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from refill.sql import data_table, ident, literal
from refill.warehouse import Warehouse

_DATE_TYPES = ("Date", "Date32", "DateTime", "DateTime64")
_NUMERIC_PREFIXES = ("Int", "UInt", "Float", "Decimal", "Nullable(Int", "Nullable(UInt", "Nullable(Float", "Nullable(Decimal")


@dataclass(frozen=True)
class ZeroUsd:
    relation: str
    column: str
    day: dt.date
    rows: int


@dataclass(frozen=True)
class DuplicateKeys:
    relation: str
    partition_id: str
    key: str
    duplicates: int


def relation_columns(warehouse: Warehouse, schema: str, relation: str) -> dict[str, str]:
    rows = warehouse.rows(
        f"SELECT name, any(type) FROM {warehouse.system_table('columns')}"
        f" WHERE database = {literal(schema)} AND table = {literal(relation)}"
        " GROUP BY name ORDER BY min(position)"
    )
    return dict(rows)


def relation_engine(warehouse: Warehouse, schema: str, relation: str) -> tuple[str, str] | None:
    """``(engine, sorting key)`` of a relation, or None if it does not exist."""
    rows = warehouse.rows(
        f"SELECT any(engine), any(sorting_key) FROM {warehouse.system_table('tables')}"
        f" WHERE database = {literal(schema)} AND name = {literal(relation)} HAVING count() > 0"
    )
    return (rows[0][0], rows[0][1]) if rows else None


def source_of(warehouse: Warehouse, schema: str, relation: str) -> str:
    """The FROM clause that reads ``relation``'s rows exactly once on this target."""
    found = relation_engine(warehouse, schema, relation) if warehouse.cluster else None
    return data_table(schema, relation, warehouse.cluster, found[0] if found else "")


def usd_columns(columns: dict[str, str]) -> list[tuple[str, str | None]]:
    """``(usd column, its native column or None)``: ``balance_usd`` pairs with ``balance``."""
    pairs = []
    for name, type_ in columns.items():
        if name.endswith("_usd") and type_.startswith(_NUMERIC_PREFIXES):
            native = name[: -len("_usd")]
            pairs.append((name, native if columns.get(native, "").startswith(_NUMERIC_PREFIXES) else None))
    return pairs


def damaged_condition(usd: str, native: str | None) -> str:
    """A row's ``usd`` column reads 0/NULL although its native amount (when known) is not 0."""
    condition = f"({ident(usd)} = 0 OR {ident(usd)} IS NULL)"
    return f"{condition} AND {ident(native)} != 0" if native else condition


def damaged_rows_by_day(
    warehouse: Warehouse,
    schema: str,
    relation: str,
    first: dt.date,
    last: dt.date,
    *,
    date_column: str,
    priced_days_sql: str,
) -> dict[dt.date, int] | None:
    """Rows per day in [first, last] with any damaged ``*_usd`` column on a day a price
    exists; None when the relation has no date column or no ``*_usd`` column (not checked)."""
    columns = relation_columns(warehouse, schema, relation)
    pairs = usd_columns(columns)
    if not pairs or not columns.get(date_column, "").startswith(_DATE_TYPES):
        return None
    damaged = " OR ".join(f"({damaged_condition(usd, native)})" for usd, native in pairs)
    rows = warehouse.rows(
        f"SELECT toDate({ident(date_column)}) AS day, count() FROM {source_of(warehouse, schema, relation)}"
        f" WHERE day BETWEEN {literal(first)} AND {literal(last)} AND day IN ({priced_days_sql}) AND ({damaged})"
        " GROUP BY day ORDER BY day"
    )
    return {day: int(n) for day, n in rows}


def zero_usd_days(
    warehouse: Warehouse,
    schema: str,
    relations: Iterable[str],
    days: Sequence[dt.date],
    *,
    date_column: str,
    priced_days_sql: str,
) -> list[ZeroUsd]:
    """Rows whose ``*_usd`` is 0 or NULL on ``days`` where a price exists (``priced_days_sql``
    returns those days) and, when the native column exists, the native value is not 0."""
    if not days:
        return []
    found = []
    day_list = ", ".join(literal(d) for d in days)
    for relation in relations:
        columns = relation_columns(warehouse, schema, relation)
        if not columns.get(date_column, "").startswith(_DATE_TYPES):
            continue
        for usd, native in usd_columns(columns):
            damaged = damaged_condition(usd, native)
            rows = warehouse.rows(
                f"SELECT toDate({ident(date_column)}) AS day, count() FROM {source_of(warehouse, schema, relation)}"
                f" WHERE day IN ({day_list}) AND day IN ({priced_days_sql}) AND {damaged}"
                " GROUP BY day ORDER BY day"
            )
            found.extend(ZeroUsd(relation, usd, day, int(n)) for day, n in rows)
    return found


def duplicate_keys(
    warehouse: Warehouse,
    schema: str,
    relations: Iterable[str],
    months: Sequence[dt.date],
    *,
    show: Callable[[str], Any],
) -> list[DuplicateKeys]:
    """Partitions of ``months`` where a ReplacingMergeTree holds a sorting key more than once
    (what a reader without FINAL double-counts), summed over shards.

    ``show`` runs an inline Jinja query through dbt and returns its agate table (the
    orchestrator's ``DbtSession.show`` with its manifest): the scan is the package's
    ``duplicate_keys_query``, so which partitions hold a month has one definition, the
    package's, read from each table's partition key.
    """
    keys = {}
    for relation in relations:
        engine_and_key = relation_engine(warehouse, schema, relation)
        if engine_and_key and "ReplacingMergeTree" in engine_and_key[0] and engine_and_key[1]:
            keys[relation] = engine_and_key[1]
    if not keys or not months:
        return []
    arguments = ", ".join(json.dumps(a) for a in (schema, sorted(keys), [m.isoformat() for m in months]))
    extra: dict[tuple[str, str], int] = {}
    for table_name, partition_id, rows, distinct in show(f"{{{{ refill.duplicate_keys_query({arguments}) }}}}").rows:
        extra[(table_name, partition_id)] = extra.get((table_name, partition_id), 0) + int(rows) - int(distinct)
    return [DuplicateKeys(relation, partition_id, keys[relation], n)
            for (relation, partition_id), n in sorted(extra.items()) if n]
