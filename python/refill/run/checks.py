"""Data checks on the warehouse: price-derived damage (0 where a price exists, weeks and months
off a recompute), duplicate keys.

Used by Phase 4 (verify) and by ``detect``. Which columns derive from prices comes from the
column lineage (``refill.lineage.model_lineage``); date columns and keys from the engine's system
tables. On a cluster the system tables are read on every replica and the rows of MergeTree
tables once per shard.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from refill.dbt.session import records
from refill.engine.sql import data_table, ident, literal
from refill.engine.warehouse import Warehouse
from refill.errors import StepFailed

_DATE_TYPES = ("Date", "Date32", "DateTime", "DateTime64")


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


@dataclass(frozen=True)
class RelationInfo:
    """What the system tables say of one relation: ``columns`` ({name: type}, in table order),
    its ``engine``, ``sorting_key`` and ``partition_key`` ("" when it has none)."""

    columns: dict[str, str]
    engine: str = ""
    sorting_key: str = ""
    partition_key: str = ""


def relations_info(warehouse: Warehouse, relations: Iterable[tuple[str, str]]) -> dict[tuple[str, str], RelationInfo]:
    """``{(database, table): RelationInfo}`` of the ``relations`` that exist, in two statements
    whatever their number (one on ``system.columns``, one on ``system.tables``): a check over
    hundreds of models otherwise spends more time asking for their shapes than reading them."""
    wanted = sorted(set(relations))
    if not wanted:
        return {}
    pairs = ", ".join(f"({literal(d)}, {literal(t)})" for d, t in wanted)
    columns: dict[tuple[str, str], dict[str, str]] = {}
    for database, name, column, type_ in warehouse.rows(
        f"SELECT database, table, name, any(type) FROM {warehouse.system_table('columns')}"
        f" WHERE (database, table) IN ({pairs})"
        " GROUP BY database, table, name ORDER BY database, table, min(position)"
    ):
        columns.setdefault((database, name), {})[column] = type_
    found = {}
    for database, name, engine, sorting_key, partition_key in warehouse.rows(
        f"SELECT database, name, any(engine), any(sorting_key), any(partition_key)"
        f" FROM {warehouse.system_table('tables')} WHERE (database, name) IN ({pairs}) GROUP BY database, name"
    ):
        found[(database, name)] = RelationInfo(columns.get((database, name), {}), engine or "", sorting_key or "",
                                               partition_key or "")
    return found


def date_column_of(warehouse: Warehouse, schema: str, relation: str, columns: dict[str, str],
                   preferred: str) -> str | None:
    """The column a relation's days are read from: the one its partition key reads (the
    engine's own say on which month a row is in), else ``preferred`` (var
    ``refill_date_column``) when it is a date column, else its only date column; None when
    it has none or several and nothing picks one."""
    partition_key = warehouse.scalar(
        f"SELECT any(partition_key) FROM {warehouse.system_table('tables')}"
        f" WHERE database = {literal(schema)} AND name = {literal(relation)}"
    )
    return date_column_from(columns, partition_key or "", preferred)


def date_column_from(columns: dict[str, str], partition_key: str, preferred: str) -> str | None:
    """``date_column_of`` on what the system tables already told: ``columns`` ({name: type})
    and the relation's ``partition_key`` ("" when it has none)."""
    from refill.lineage.audit import day_column

    dated = [name for name, type_ in columns.items() if _is_date(type_)]
    from_key = day_column(partition_key or "", "")
    for candidate in (from_key, preferred):
        if candidate and candidate in dated:
            return candidate
    return dated[0] if len(dated) == 1 else None


def _is_date(type_: str) -> bool:
    for wrapper in ("Nullable(", "LowCardinality("):
        type_ = type_.removeprefix(wrapper)
    return type_.startswith(_DATE_TYPES)


@dataclass(frozen=True)
class PeriodMismatch:
    """A weekly/monthly model's period (containing a gap day) that differs from a recompute of
    the model's SQL: ``rows`` keys that differ, ``columns`` the price-derived columns that do."""

    relation: str
    period: dt.date
    rows: int
    columns: tuple[str, ...]
    unit: str = "period"  # week, month …


@dataclass
class DamageScan:
    """What verify's (and detect's) damage check found, per model: findings, the models checked
    and how, and those it could not check with the reason (never a silent skip)."""

    zero: list[ZeroUsd] = field(default_factory=list)
    periods: list[PeriodMismatch] = field(default_factory=list)
    checked: dict[str, str] = field(default_factory=dict)  # model -> how it was judged
    not_checked: dict[str, str] = field(default_factory=dict)  # model -> why not

    def extend(self, other: "DamageScan") -> None:
        self.zero += other.zero
        self.periods += other.periods
        self.checked.update(other.checked)
        self.not_checked.update(other.not_checked)


def _numeric(type_: str) -> bool:
    for wrapper in ("LowCardinality(", "Nullable("):
        type_ = type_.removeprefix(wrapper)
    return type_.startswith(("Int", "UInt", "Float", "Decimal"))


def price_damage_scan(
    warehouse: Warehouse,
    models: Sequence,  # refill.lineage.model_lineage.ModelLineage
    days: Sequence[dt.date],
    *,
    grain_of: Callable[[str, str], Any],  # (model, date column) -> refill.lineage.price_lineage.Grain
    date_column: str,
    priced_days_sql: str | None,
    entity_columns: Sequence[str] = (),
    priced_entity_days_sql: str | None = None,
) -> DamageScan:
    """Judge each model on its own price-derived columns (column lineage, ``model.dependence``)
    at its own grain, for ``days`` (the gap days):

    * daily: a price *value* column (an amount times a price, not a count or a label a price
      decides) reading 0/NULL on a gap day is damage where a price exists — per entity when the
      model carries the prices model's entity columns (a never-priced token's 0 is its true
      value), else per day; ``X_usd`` beside a numeric ``X`` is damage only where ``X != 0``;
    * weekly/monthly (its date column is ``toStartOfWeek(…)``, ``toStartOfMonth(…)`` …): the
      periods containing a gap day are compared with a recompute of the model's SQL, key by key,
      on every price-derived column (a week that lost one day's USD is not 0, it is short).

    A ReplacingMergeTree is read FINAL: judged by what its readers get."""
    scan = DamageScan()
    day_list = ", ".join(literal(d) for d in days)
    known = relations_info(warehouse, [(m.database, m.table) for m in models])
    for model in models:
        relation = model.name
        info = known.get((model.database, model.table), RelationInfo({}))
        columns = info.columns
        dependence = model.dependence
        if not columns:
            scan.not_checked[relation] = f"no relation {model.relation} in the warehouse"
            continue
        if model.is_prices:
            scan.not_checked[relation] = "the prices model itself (its gap days are checked before the run)"
            continue
        if dependence.error and not dependence.overridden:
            scan.not_checked[relation] = (f"column lineage unavailable ({dependence.error}); name its price-derived "
                                          f"columns in var refill_price_columns: {{{relation}: [...]}}")
            continue
        price_columns = [c for c in columns if c.lower() in dependence.columns]
        if not price_columns:
            scan.not_checked[relation] = "no column derives from prices (column lineage)"
            continue
        if priced_days_sql is None:
            scan.not_checked[relation] = "the prices model has no date column to tell priced days (var refill_date_column)"
            continue
        day_column = date_column_from(columns, info.partition_key, date_column)
        if day_column is None:
            scan.not_checked[relation] = ("no date column: its partition key reads none and it has "
                                          f"{'several' if any(_is_date(t) for t in columns.values()) else 'no'} "
                                          "Date/DateTime columns (var refill_date_column)")
            continue
        engine = info.engine
        # a ReplacingMergeTree is judged by what its readers get: an append consumer repaired
        # correctly holds the old zero row beside the corrected one until a merge
        source = data_table(model.database, model.table, warehouse.cluster, engine)
        stored = f"{source}{' FINAL' if 'ReplacingMergeTree' in engine else ''}"
        grain = grain_of(relation, day_column)
        if grain.period:
            if not model.keys:
                scan.not_checked[relation] = (f"{day_column} is a {grain.unit} and the model has no unique_key or "
                                              "ORDER BY to compare its periods by")
                continue
            if not model.sql:
                scan.not_checked[relation] = f"{day_column} is a {grain.unit} and dbt compiled no SQL to recompute"
                continue
            try:
                if days:
                    scan.periods += _period_mismatches(warehouse, model, stored, day_column, grain, days,
                                                       price_columns, columns)
            except StepFailed as exc:  # the model's own SQL, run outside dbt: say so, do not stop the check
                scan.not_checked[relation] = (f"{day_column} is a {grain.unit}; recomputing its SQL for the gap's "
                                              f"{grain.unit}s failed: {exc.message.splitlines()[0][:200]}")
                continue
            scan.checked[relation] = (f"each {grain.unit} of {day_column} holding a gap day equals a recompute of its "
                                      f"SQL on {', '.join(price_columns)}")
            continue
        values = [c for c in price_columns if c.lower() in dependence.values and _numeric(columns[c])]
        if not values:
            scan.not_checked[relation] = (f"its price-derived columns ({', '.join(price_columns)}) are counts or labels "
                                          "a price decides, not price values: 0 is no sign of a gap (var "
                                          "refill_price_columns names value columns)")
            continue
        scan.checked[relation] = f"0/NULL in {', '.join(values)} on the gap days of {day_column} where a price exists"
        if not days:
            continue
        per_entity = bool(entity_columns) and priced_entity_days_sql and all(c in columns for c in entity_columns)
        if per_entity:
            entity = ", ".join(ident(c) for c in entity_columns)
            priced = f"({entity}, toDate({ident(day_column)})) IN ({priced_entity_days_sql})"
        else:
            priced = f"day IN ({priced_days_sql})"
        damaged = []
        for value in values:
            native = value[: -len("_usd")] if value.endswith("_usd") else None
            native = native if native and _numeric(columns.get(native, "")) and native.lower() not in dependence.columns \
                else None
            damaged.append(damaged_condition(value, native))
        # one statement per table, every value column and gap day at once: a count per column
        # of the rows where that column is damaged (NULL as not damaged, as WHERE reads it)
        rows = warehouse.rows(
            f"SELECT toDate({ident(day_column)}) AS day, {', '.join(f'countIf(ifNull({d}, 0))' for d in damaged)}"
            f" FROM {stored}"
            f" WHERE day IN ({day_list}) AND {priced} AND ({' OR '.join(f'({d})' for d in damaged)})"
            " GROUP BY day ORDER BY day"
        )
        for i, value in enumerate(values):
            scan.zero.extend(ZeroUsd(relation, value, day, int(counts[i])) for day, *counts in rows if counts[i])
    return scan


def _same(column: str, numeric: bool) -> str:
    a, b = f"s.{ident(column)}", f"r.{ident(column)}"
    equal = (f"abs(toFloat64({a}) - toFloat64({b})) <= 1e-9 * greatest(abs(toFloat64({a})), abs(toFloat64({b})), 1)"
             if numeric else f"{a} = {b}")
    return f"ifNull(if(isNull({a}) OR isNull({b}), isNull({a}) AND isNull({b}), {equal}), 0)"


def _period_mismatches(warehouse: Warehouse, model, stored: str, day_column: str, grain, days: Sequence[dt.date],
                       price_columns: list[str], columns: dict[str, str]) -> list[PeriodMismatch]:
    """Keys of the periods holding ``days`` whose price-derived columns differ between the stored
    rows and the model's SQL recomputed (a full build, filtered to those periods)."""
    # the periods holding ``days``, told by the engine inside the same statement (no round trip)
    period_list = (f"SELECT DISTINCT toDate({grain.on('day')})"
                   f" FROM (SELECT arrayJoin([{', '.join(literal(d) for d in days)}]) AS day)")
    keys = ", ".join(f"{key} AS __k{i}" for i, key in enumerate(model.keys))
    using = ", ".join(f"__k{i}" for i in range(len(model.keys)))
    picked = ", ".join(ident(c) for c in price_columns)

    def side(source: str) -> str:
        return (f"SELECT {keys}, {picked}, toDate({ident(day_column)}) AS __period, 1 AS __present FROM {source}"
                f" WHERE toDate({ident(day_column)}) IN ({period_list})")

    differs = [f"NOT {_same(c, _numeric(columns[c]))}" for c in price_columns]
    rows = warehouse.rows(
        f"SELECT ifNull(s.__period, r.__period) AS period, count(),"
        f" {', '.join(f'countIf({d})' for d in differs)}"
        f" FROM ({side(stored)}) AS s"
        f" FULL OUTER JOIN ({side(f'({model.sql}) AS __recompute')}) AS r USING ({using})"
        f" WHERE s.__present IS NULL OR r.__present IS NULL OR {' OR '.join(differs)}"
        " GROUP BY period ORDER BY period SETTINGS join_use_nulls = 1"
    )
    return [PeriodMismatch(model.name, period, int(n), tuple(c for c, k in zip(price_columns, counts) if k),
                           grain.unit or "period") for period, n, *counts in rows]


def usd_columns(columns: dict[str, str]) -> list[tuple[str, str | None]]:
    """``(usd column, its native column or None)``: ``balance_usd`` pairs with ``balance``."""
    pairs = []
    for name, type_ in columns.items():
        if name.endswith("_usd") and _numeric(type_):
            native = name[: -len("_usd")]
            pairs.append((name, native if _numeric(columns.get(native, "")) else None))
    return pairs


def damaged_condition(usd: str, native: str | None) -> str:
    """A row's ``usd`` column reads 0/NULL although its native amount (when known) is not 0."""
    condition = f"({ident(usd)} = 0 OR {ident(usd)} IS NULL)"
    return f"{condition} AND {ident(native)} != 0" if native else condition


def zero_usd_days(
    warehouse: Warehouse,
    schema: str,
    relations: Iterable[str],
    days: Sequence[dt.date],
    *,
    date_column: str,
    priced_days_sql: str,
) -> list[ZeroUsd]:
    """``price_damage_scan``'s daily findings for ``relations`` taken as holding price values in
    their ``*_usd`` columns (a probe for tests and ad-hoc checks that have no dbt graph to trace;
    Phase 4 and detect read the column lineage instead)."""
    from refill.lineage.model_lineage import ModelLineage
    from refill.lineage.price_lineage import Grain, PriceDependence

    models = []
    for relation in relations:
        usd = frozenset(name.lower() for name, _ in usd_columns(relation_columns(warehouse, schema, relation)))
        models.append(ModelLineage(relation, schema, relation, PriceDependence(columns=usd, values=usd), None, ()))
    return price_damage_scan(warehouse, models, days, grain_of=lambda *_: Grain(), date_column=date_column,
                             priced_days_sql=priced_days_sql).zero


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
    relations = list(relations)
    keys = {}
    known = relations_info(warehouse, [(schema, relation) for relation in relations])
    for relation in relations:
        info = known.get((schema, relation))
        if info and "ReplacingMergeTree" in info.engine and info.sorting_key:
            keys[relation] = info.sorting_key
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
