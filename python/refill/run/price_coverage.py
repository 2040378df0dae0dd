"""Which days the prices model covers: per entity, the days it has a price, and the days it lacks one.

What ``refill detect`` reports as the cause of a gap and what the run's price-coverage gate
(``refill.run.phases.preflight``) refuses on: a day cannot be recomputed before its price lands.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from refill.engine.sql import ident, literal
from refill.engine.warehouse import Warehouse
from refill.errors import BadInput
from refill.run import checks

ENTITY_VAR = "refill_price_entity"
_STRING_TYPES = ("String", "FixedString", "LowCardinality(String", "LowCardinality(FixedString",
                 "Nullable(String", "Nullable(FixedString", "LowCardinality(Nullable(String", "UUID", "Enum")


def missing_days(
    priced: dict[str, tuple[dt.date, set[dt.date]]], first: dt.date, last: dt.date, *, lag_days: int = 0,
) -> dict[dt.date, list[str]]:
    """Days each entity lacks a price: ``priced`` maps entity -> (first day it was ever
    priced, its priced days in [first, last]).

    An entity is expected from its first price (or ``first``) to its last price in the
    window — an entity that stops being priced may simply be delisted — and every entity
    is expected on the days after the whole feed's last day up to ``last - lag_days`` (the
    feed itself is silent; a feed that normally lands a day late is not silent on ``last``).
    """
    feed_days = set().union(*(days for _, days in priced.values())) if priced else set()
    feed_last = max(feed_days) if feed_days else first - dt.timedelta(days=1)
    due = last - dt.timedelta(days=lag_days)
    silent = {feed_last + dt.timedelta(days=i) for i in range(1, (due - feed_last).days + 1)}
    missing: dict[dt.date, list[str]] = {}
    for entity, (first_ever, days) in sorted(priced.items()):
        if not days:
            continue
        start, end = max(first, first_ever), max(days)
        expected = {start + dt.timedelta(days=i) for i in range((end - start).days + 1)} | silent
        for day in sorted(expected - days):
            missing.setdefault(day, []).append(entity)
    return missing


def entity_columns(
    columns: dict[str, str] | None, date_column: str, *, declared: Sequence[str] | None = None,
    canary_group_by: Sequence[str] = (), unique_key: Sequence[str] = (),
) -> tuple[tuple[str, ...], str]:
    """The columns that name an entity in the prices model, and where they come from.

    In order: var ``refill_price_entity`` (a name or a list); the ``group_by`` of a canary
    on the prices model; its ``unique_key`` without the date column; every string-typed
    column other than the date. ``columns`` (name -> type) None: not known yet (the plan
    before the run), the last choice is then left empty.
    """
    def known(names: Sequence[str], source: str) -> tuple[tuple[str, ...], str]:
        unknown = [c for c in names if columns is not None and c not in columns]
        if unknown:
            raise BadInput(f"{source}: {', '.join(unknown)} not a column of the prices model "
                           f"(columns: {', '.join(columns or ())})")
        return tuple(names), source

    if declared:
        return known(declared, f"var {ENTITY_VAR}")
    if canary_group_by:
        return known(canary_group_by, "the group_by of the canary on the prices model")
    keys = [c for c in unique_key if c != date_column]
    if keys:
        return known(keys, "the prices model's unique_key")
    source = "the prices model's string columns"
    if columns is None:
        return (), source
    found = tuple(c for c, type_ in columns.items() if c != date_column and type_.startswith(_STRING_TYPES))
    if not found:
        raise BadInput(f"cannot tell the prices model's entity column: set var {ENTITY_VAR} "
                       f"(columns: {', '.join(columns)})")
    return found, source


def priced_entities(
    warehouse: Warehouse, schema: str, relation: str, date_column: str, entities: Sequence[str],
    first: dt.date, last: dt.date,
) -> dict[str, tuple[dt.date, set[dt.date]]]:
    parts = [f"toString({ident(c)})" for c in entities]
    entity = parts[0] if len(parts) == 1 else f"arrayStringConcat([{', '.join(parts)}], '/')"
    day = f"toDate({ident(date_column)})"
    rows = warehouse.rows(
        f"SELECT {entity} AS entity, min({day}) AS first_ever,"
        f" groupUniqArrayIf({day}, {day} >= {literal(first)}) AS days"
        f" FROM {checks.source_of(warehouse, schema, relation)}"
        f" WHERE {day} <= {literal(last)}"
        f" GROUP BY entity HAVING max({day}) >= {literal(first)}"
    )
    return {str(e): (first_ever, set(days)) for e, first_ever, days in rows}
