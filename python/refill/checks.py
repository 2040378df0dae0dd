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

from refill.session import records
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


def date_column_of(warehouse: Warehouse, schema: str, relation: str, columns: dict[str, str],
                   preferred: str) -> str | None:
    """The column a relation's days are read from: the one its partition key reads (the
    engine's own say on which month a row is in), else ``preferred`` (var
    ``refill_date_column``) when it is a date column, else its only date column; None when
    it has none or several and nothing picks one."""
    from refill.audit import day_column

    dated = [name for name, type_ in columns.items() if _is_date(type_)]
    partition_key = warehouse.scalar(
        f"SELECT any(partition_key) FROM {warehouse.system_table('tables')}"
        f" WHERE database = {literal(schema)} AND name = {literal(relation)}"
    )
    from_key = day_column(partition_key or "", "")
    for candidate in (from_key, preferred):
        if candidate and candidate in dated:
            return candidate
    return dated[0] if len(dated) == 1 else None


def _is_date(type_: str) -> bool:
    for wrapper in ("Nullable(", "LowCardinality("):
        type_ = type_.removeprefix(wrapper)
    return type_.startswith(_DATE_TYPES)


@dataclass
class ZeroUsdScan:
    """Phase 4's zero-USD check: what it found, which models it checked and which it could
    not, with the reason (never a silent skip)."""

    findings: list[ZeroUsd]
    checked: list[str]
    not_checked: dict[str, str]


def zero_usd_scan(
    warehouse: Warehouse,
    schema: str,
    relations: Iterable[str],
    days: Sequence[dt.date],
    *,
    date_column: str,
    priced_days_sql: str | None,
    entity_columns: Sequence[str] = (),
    priced_entity_days_sql: str | None = None,
) -> ZeroUsdScan:
    """Rows whose ``*_usd`` is 0 or NULL on ``days`` where a price exists, per relation on its
    own date column (``date_column_of``); ``priced_days_sql`` None: the prices model has no
    date column, so nothing can be judged.

    Where the relation carries the prices model's entity columns (``entity_columns``, same
    names), a row is damaged only where *its* entity has a price that day
    (``priced_entity_days_sql`` returns ``(entity…, day)``): a long-tail token that never has
    a price legitimately reads 0 and is not damage. Elsewhere, any price that day counts."""
    scan = ZeroUsdScan([], [], {})
    day_list = ", ".join(literal(d) for d in days)
    for relation in relations:
        columns = relation_columns(warehouse, schema, relation)
        if not columns:
            scan.not_checked[relation] = f"no relation {schema}.{relation} in the warehouse"
            continue
        pairs = usd_columns(columns)
        if not pairs:
            scan.not_checked[relation] = "no *_usd column"
            continue
        if priced_days_sql is None:
            scan.not_checked[relation] = "the prices model has no date column to tell priced days (var refill_date_column)"
            continue
        day_column = date_column_of(warehouse, schema, relation, columns, date_column)
        if day_column is None:
            scan.not_checked[relation] = ("no date column: its partition key reads none and it has "
                                          f"{'several' if any(_is_date(t) for t in columns.values()) else 'no'} "
                                          "Date/DateTime columns (var refill_date_column)")
            continue
        scan.checked.append(relation)
        if not days:
            continue
        # a ReplacingMergeTree is judged by what its readers get: an append consumer repaired
        # correctly holds the old zero row beside the corrected one until a merge
        engine = (relation_engine(warehouse, schema, relation) or ("", ""))[0]
        final = " FINAL" if "ReplacingMergeTree" in engine else ""
        per_entity = bool(entity_columns) and priced_entity_days_sql and all(c in columns for c in entity_columns)
        if per_entity:
            entity = ", ".join(ident(c) for c in entity_columns)
            priced = f"({entity}, toDate({ident(day_column)})) IN ({priced_entity_days_sql})"
        else:
            priced = f"day IN ({priced_days_sql})"
        for usd, native in pairs:
            damaged = damaged_condition(usd, native)
            rows = warehouse.rows(
                f"SELECT toDate({ident(day_column)}) AS day, count() FROM {source_of(warehouse, schema, relation)}{final}"
                f" WHERE day IN ({day_list}) AND {priced} AND {damaged}"
                " GROUP BY day ORDER BY day"
            )
            scan.findings.extend(ZeroUsd(relation, usd, day, int(n)) for day, n in rows)
    return scan


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
    """The findings of ``zero_usd_scan`` alone."""
    return zero_usd_scan(warehouse, schema, relations, days, date_column=date_column,
                         priced_days_sql=priced_days_sql).findings


DUPLICATE_KEYS_COLUMNS = ("table_name", "partition_id", "rows", "keys")  # read of duplicate_keys_query


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
    scanned = records(show(f"{{{{ refill.duplicate_keys_query({arguments}) }}}}"), DUPLICATE_KEYS_COLUMNS,
                      "refill.duplicate_keys_query")
    for row in scanned:
        table_name, partition_id = row["table_name"], row["partition_id"]
        extra[(table_name, partition_id)] = extra.get((table_name, partition_id), 0) + int(row["rows"]) - int(row["keys"])
    return [DuplicateKeys(relation, partition_id, keys[relation], n)
            for (relation, partition_id), n in sorted(extra.items()) if n]
