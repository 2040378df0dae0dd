"""Data checks on the warehouse: zero-USD rows where a price exists, duplicate keys.

Used by Phase 4 (verify) and by ``detect``. Columns and keys are discovered from the
engine's system tables, so no per-model configuration is needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from refill.sql import ident, literal, system_table, table
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
        f"SELECT name, type FROM system.columns WHERE database = {literal(schema)} AND table = {literal(relation)}"
        " ORDER BY position"
    )
    return dict(rows)


def usd_columns(columns: dict[str, str]) -> list[tuple[str, str | None]]:
    """``(usd column, its native column or None)``: ``balance_usd`` pairs with ``balance``."""
    pairs = []
    for name, type_ in columns.items():
        if name.endswith("_usd") and type_.startswith(_NUMERIC_PREFIXES):
            native = name[: -len("_usd")]
            pairs.append((name, native if columns.get(native, "").startswith(_NUMERIC_PREFIXES) else None))
    return pairs


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
            damaged = f"({ident(usd)} = 0 OR {ident(usd)} IS NULL)"
            if native:
                damaged += f" AND {ident(native)} != 0"
            rows = warehouse.rows(
                f"SELECT toDate({ident(date_column)}) AS day, count() FROM {table(schema, relation)}"
                f" WHERE day IN ({day_list}) AND day IN ({priced_days_sql}) AND {damaged}"
                " GROUP BY day ORDER BY day"
            )
            found.extend(ZeroUsd(relation, usd, day, int(n)) for day, n in rows)
    return found


def partitions_of_months(
    warehouse: Warehouse, schema: str, relation: str, months: Sequence[dt.date], cluster: str | None = None
) -> list[str]:
    """Active partition ids of ``relation`` whose rows fall in ``months`` (monthly partitioning)."""
    month_list = ", ".join(literal(m) for m in months)
    rows = warehouse.rows(
        f"SELECT DISTINCT partition_id FROM {system_table('parts', cluster)}"
        f" WHERE active AND database = {literal(schema)} AND table = {literal(relation)}"
        f" AND toStartOfMonth(if(min_date > toDate(0), min_date, toDate(min_time))) IN ({month_list})"
        " ORDER BY partition_id"
    )
    return [r[0] for r in rows]


def duplicate_keys(
    warehouse: Warehouse, schema: str, relations: Iterable[str], months: Sequence[dt.date]
) -> list[DuplicateKeys]:
    """Partitions in ``months`` where a ReplacingMergeTree holds a sorting key more than once
    (what a reader without FINAL double-counts)."""
    found = []
    for relation in relations:
        engine_and_key = warehouse.rows(
            f"SELECT engine, sorting_key FROM system.tables WHERE database = {literal(schema)} AND name = {literal(relation)}"
        )
        if not engine_and_key or "ReplacingMergeTree" not in engine_and_key[0][0] or not engine_and_key[0][1]:
            continue
        key = engine_and_key[0][1]
        for partition_id in partitions_of_months(warehouse, schema, relation, months):
            extra = warehouse.scalar(
                f"SELECT count() - uniqExact(tuple({key})) FROM {table(schema, relation)}"
                f" WHERE _partition_id = {literal(partition_id)}"
            )
            if extra:
                found.append(DuplicateKeys(relation, partition_id, key, int(extra)))
    return found
