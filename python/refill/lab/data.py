"""Raw feeds for the lab, generated inside the engine: deterministic, exact types, sized by ``scale``."""

from __future__ import annotations

import datetime as dt

from refill.engine.sql import ident, literal
from refill.engine.warehouse import Warehouse

HISTORY_START = dt.date(2026, 1, 1)

# (symbol, token_address, price in micro-USD): the same tokens as seeds/lab_tokens.csv.
TOKENS = (
    ("GNO", "0x9c58bacc331c9aa871afd802db6379a98e80cedb", 120_000_000),
    ("WETH", "0x6a023ccd1ff6f2045c3309768ead9e68f978f6e1", 3_000_000_000),
    ("EURe", "0xcb444e90d8198415266c6a2724b7900fb12fc56e", 1_080_000),
    ("USDC", "0xddafbb505ad214d7b80b1f830fccc89b60fb7a83", 1_000_000),
)
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
TRANSFERS_PER_DAY = 40
WALLETS = 30


def create_raw_tables(warehouse: Warehouse, raw_schema: str) -> None:
    schema = ident(raw_schema)
    warehouse.execute(f"CREATE DATABASE IF NOT EXISTS {schema}")
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {schema}.prices "
        "(date Date, symbol String, price Decimal(38, 6)) "
        "ENGINE = MergeTree ORDER BY (symbol, date)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {schema}.transfers "
        "(block_date Date, token_address String, from_address String, to_address String, amount Int64) "
        "ENGINE = MergeTree ORDER BY (block_date, token_address)"
    )


def insert_transfers(warehouse: Warehouse, raw_schema: str, first: dt.date, last: dt.date, scale: int) -> None:
    """Transfers for every day in [first, last]: mints, wallet-to-wallet moves and gpay payments."""
    per_day = TRANSFERS_PER_DAY * scale
    wallets = WALLETS * scale
    days = (last - first).days + 1
    if days <= 0:
        return
    tokens = "[" + ", ".join(literal(address) for _, address, _ in TOKENS) + "]"
    warehouse.execute(
        f"""
        INSERT INTO {ident(raw_schema)}.transfers
        SELECT
            day AS block_date,
            {tokens}[1 + h % {len(TOKENS)}] AS token_address,
            if(intDiv(h, 7) % 3 = 0, {literal(ZERO_ADDRESS)},
               concat('0xa11ce', leftPad(toString(intDiv(h, 31) % {wallets}), 8, '0'))) AS from_address,
            if(intDiv(h, 101) % 6 = 0,
               concat('0x6a7e', leftPad(toString(intDiv(h, 211) % 5), 4, '0')),
               concat('0xa11ce', leftPad(toString(intDiv(h, 401) % {wallets}), 8, '0'))) AS to_address,
            toInt64(1 + intDiv(h, 1009) % 500) AS amount
        FROM (
            SELECT
                addDays({literal(first)}, intDiv(number, {per_day})) AS day,
                cityHash64(toString(day), number % {per_day}) AS h
            FROM numbers({days * per_day})
        )
        """
    )


def insert_prices(
    warehouse: Warehouse, raw_schema: str, first: dt.date, last: dt.date, skip: frozenset[dt.date] = frozenset()
) -> None:
    """One price per token per day in [first, last] except ``skip``: base price within +/-5%."""
    days = (last - first).days + 1
    if days <= 0:
        return
    rows = ", ".join(f"({literal(symbol)}, {micros})" for symbol, _, micros in TOKENS)
    skipped = ", ".join(literal(day) for day in sorted(skip)) or "toDate('1970-01-01')"
    warehouse.execute(
        f"""
        INSERT INTO {ident(raw_schema)}.prices
        SELECT
            day AS date,
            symbol,
            toDecimal128(intDiv(base * (9500 + cityHash64(toString(day), symbol) % 1001), 10000), 0)
                * toDecimal128('0.000001', 6) AS price
        FROM (SELECT addDays({literal(first)}, number) AS day FROM numbers({days})) AS days
        CROSS JOIN (SELECT tupleElement(t, 1) AS symbol, toInt64(tupleElement(t, 2)) AS base
                    FROM (SELECT arrayJoin([{rows}]) AS t)) AS tokens
        WHERE day NOT IN ({skipped})
        """
    )
