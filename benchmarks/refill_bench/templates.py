"""SQL text of each kind of model the benchmark project holds (dbt Jinja, ClickHouse SQL).

Every model reads the raw feeds through two views — ``stg_execution_transfers`` and the
prices model — so the project has the seed's shape: a prices gap reaches every ``*_usd``
downstream as a 0 (ClickHouse joins a missing price as 0, not NULL).
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_MODEL = "int_execution_token_prices_daily"
TRANSFERS_MODEL = "stg_execution_transfers"
TOKENS_SEED = "bench_tokens"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

COHORT_STRATEGY = (
    "('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert')"
)


@dataclass(frozen=True)
class Columns:
    """A model's output, as readers see it: the grain beyond (date, token) and a native/USD pair."""

    key: tuple[str, ...]
    native: str
    usd: str


FLOW = Columns(("date", "token_address", "segment"), "volume", "volume_usd")
BALANCE = Columns(("date", "token_address", "address"), "balance", "balance_usd")
SUPPLY = Columns(("date", "token_address"), "supply", "supply_usd")
BUCKETED = Columns(("date", "token_address", "bucket"), "amount", "amount_usd")


def _key(columns: Columns) -> str:
    return "(" + ", ".join(columns.key) + ")"


# -- configs -----------------------------------------------------------------------------


def cohort_config(columns: Columns, domain: str) -> str:
    """The seed's cohort contract: three-branch strategy, RMT, monthly partitions, hooks."""
    return f"""{{{{ config(
    materialized='incremental',
    incremental_strategy={COHORT_STRATEGY},
    engine='ReplacingMergeTree()',
    order_by='{_key(columns)}',
    partition_by='toStartOfMonth(date)',
    unique_key='{_key(columns)}',
    pre_hook=refill.refill_safe_pre_hook(),
    post_hook=refill.refill_safe_post_hook(),
    tags=['production', '{domain}', 'refill_append'],
) }}}}
{{% set start_month = var('start_month', none) %}}
{{% set end_month = var('end_month', none) %}}
"""


def month_filter(column: str) -> str:
    """The seed's filter branch: the refill month when set, the lookback macro otherwise."""
    return f"""{{% if start_month and end_month %}}
    AND toStartOfMonth({column}) >= toDate('{{{{ start_month }}}}')
    AND toStartOfMonth({column}) <= toDate('{{{{ end_month }}}}')
{{% else %}}
    {{{{ refill.apply_monthly_incremental_filter('{column}', 'date', true) }}}}
{{% endif %}}"""


def consumer_config(kind: str, columns: Columns, domain: str) -> str:
    if kind == "view":
        return f"{{{{ config(materialized='view', tags=['production', '{domain}']) }}}}\n"
    if kind == "table":
        return (f"{{{{ config(materialized='table', engine='MergeTree()', order_by='{_key(columns)}', "
                f"tags=['production', '{domain}']) }}}}\n")
    return f"""{{{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    engine='MergeTree()',
    order_by='{_key(columns)}',
    partition_by='toStartOfMonth(date)',
    unique_key='{_key(columns)}',
    tags=['production', '{domain}'],
) }}}}
"""


# -- staging -----------------------------------------------------------------------------


def prices_model() -> str:
    return f"""{{#- The prices model: a view, so a backfilled raw day is visible on the next read. -#}}
SELECT
    p.date AS date,
    t.token_address AS token_address,
    p.symbol AS symbol,
    p.price AS price
FROM {{{{ source('raw', 'prices') }}}} AS p
INNER JOIN {{{{ ref('{TOKENS_SEED}') }}}} AS t ON t.symbol = p.symbol
"""


def transfers_model() -> str:
    return """SELECT block_date, token_address, from_address, to_address, amount
FROM {{ source('raw', 'transfers') }}
"""


# -- the cohort --------------------------------------------------------------------------


def balances(domain: str, address_filter: str | None = None) -> str:
    """The heavy cohort model: running balances over the whole history, one row per holder
    per day. A refill of one month still recomputes every balance from the first transfer."""
    only = f"\n    WHERE {address_filter}" if address_filter else ""
    return cohort_config(BALANCE, domain) + f"""
WITH deltas AS (
    SELECT * FROM (
        SELECT block_date AS changed_on, token_address, to_address AS address, amount AS delta
        FROM {{{{ ref('{TRANSFERS_MODEL}') }}}}
        UNION ALL
        SELECT block_date, token_address, from_address, -amount
        FROM {{{{ ref('{TRANSFERS_MODEL}') }}}}
        WHERE from_address != '{ZERO_ADDRESS}'
    ){only}
),

changes AS (
    SELECT
        changed_on,
        token_address,
        address,
        sum(sum(delta)) OVER (
            PARTITION BY token_address, address ORDER BY changed_on
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS balance,
        leadInFrame(changed_on, 1, toDate('2149-06-06')) OVER (
            PARTITION BY token_address, address ORDER BY changed_on
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS next_change
    FROM deltas
    GROUP BY changed_on, token_address, address
),

last_day AS (
    SELECT max(block_date) AS day FROM {{{{ ref('{TRANSFERS_MODEL}') }}}}
),

balances AS (
    SELECT
        addDays(c.changed_on, offset) AS date,
        c.token_address AS token_address,
        c.address AS address,
        c.balance AS balance
    FROM changes AS c
    ARRAY JOIN range(toUInt32(dateDiff('day', c.changed_on,
        least(c.next_change, addDays((SELECT day FROM last_day), 1))))) AS offset
    WHERE c.balance != 0
)

SELECT
    b.date AS date,
    b.token_address AS token_address,
    t.symbol AS symbol,
    b.address AS address,
    b.balance AS balance,
    b.balance * p.price AS balance_usd
FROM balances AS b
INNER JOIN {{{{ ref('{TOKENS_SEED}') }}}} AS t ON t.token_address = b.token_address
LEFT JOIN {{{{ ref('{PRICES_MODEL}') }}}} AS p
    ON p.token_address = b.token_address AND p.date = b.date
WHERE 1 = 1
{month_filter('b.date')}
"""


def flows(domain: str, predicate: str, segment: str) -> str:
    """A light cohort model: one day of filtered transfers valued at that day's price."""
    return cohort_config(FLOW, domain) + _priced_flow_sql(predicate, segment, "\n" + month_filter("tr.block_date"))


def _priced_flow_sql(predicate: str, segment: str, filter_sql: str) -> str:
    """Filtered transfers of a day valued at its price: the cohort's flows and the consumers share it."""
    return f"""
SELECT
    tr.block_date AS date,
    tr.token_address AS token_address,
    {segment} AS segment,
    toInt64(count()) AS transfers,
    sum(tr.amount) AS volume,
    sum(tr.amount * p.price) AS volume_usd
FROM {{{{ ref('{TRANSFERS_MODEL}') }}}} AS tr
LEFT JOIN {{{{ ref('{PRICES_MODEL}') }}}} AS p
    ON p.token_address = tr.token_address AND p.date = tr.block_date
WHERE {predicate}{filter_sql}
GROUP BY date, token_address, segment
"""


def supply_holders(domain: str, parent: str) -> str:
    """Sums the balances: reading an unmerged append of them bakes in a 2x supply."""
    return cohort_config(SUPPLY, domain) + f"""
SELECT
    date,
    token_address,
    any(symbol) AS symbol,
    sum(balance) AS supply,
    toInt64(countIf(balance > 0)) AS holders,
    sum(balance_usd) AS supply_usd
FROM {{{{ ref('{parent}') }}}}
WHERE 1 = 1
{month_filter('date')}
GROUP BY date, token_address
"""


def usd_bucket(usd: str) -> str:
    """'unpriced' exists only while a price is missing: after the backfill those keys must go."""
    return f"multiIf({usd} = 0, 'unpriced', {usd} < 1000, 'lt_1k', {usd} < 100000, 'lt_100k', 'ge_100k')"


def bucketed(domain: str, parent: str, columns: Columns) -> str:
    """A cohort aggregator: its parent's rows per USD bucket."""
    return cohort_config(BUCKETED, domain) + f"""
SELECT
    src.date AS date,
    src.token_address AS token_address,
    {usd_bucket('src.' + columns.usd)} AS bucket,
    toInt64(count()) AS members,
    sum(src.{columns.native}) AS amount,
    sum(src.{columns.usd}) AS amount_usd
FROM {{{{ ref('{parent}') }}}} AS src
WHERE 1 = 1
{month_filter('src.date')}
GROUP BY date, token_address, bucket
"""


def balance_cohorts(domain: str, balances_model: str, supply_model: str) -> str:
    """The seed's third layer: reads the balances and the supply aggregator."""
    return cohort_config(BUCKETED, domain) + f"""
WITH bucketed AS (
    SELECT
        date,
        token_address,
        {usd_bucket('balance_usd')} AS bucket,
        balance,
        balance_usd
    FROM {{{{ ref('{balances_model}') }}}}
    WHERE 1 = 1
    {month_filter('date')}
)

SELECT
    b.date AS date,
    b.token_address AS token_address,
    b.bucket AS bucket,
    toInt64(count()) AS members,
    sum(b.balance) AS amount,
    sum(b.balance_usd) AS amount_usd,
    intDiv(sum(b.balance) * 1000000, any(s.supply)) AS supply_share_ppm
FROM bucketed AS b
INNER JOIN {{{{ ref('{supply_model}') }}}} AS s
    ON s.date = b.date AND s.token_address = b.token_address
GROUP BY b.date, b.token_address, b.bucket
"""


# -- price consumers outside the cohort --------------------------------------------------


def priced_transfers(kind: str, domain: str, predicate: str, segment: str) -> str:
    """One hop from prices: filtered transfers valued at the day's price."""
    window = ("\n    {{ refill.apply_monthly_incremental_filter('tr.block_date', 'date', true) }}"
              if kind == "incremental" else "")
    return consumer_config(kind, FLOW, domain) + _priced_flow_sql(predicate, segment, window)


def unpriced_transfers(kind: str, domain: str, predicate: str, segment: str) -> str:
    """A model that never reads prices (counts and native volumes): outside the lineage, so a
    refill only parses it. Most of a large project is like this (staging, counts, metadata)."""
    window = ("\n    {{ refill.apply_monthly_incremental_filter('tr.block_date', 'date', true) }}"
              if kind == "incremental" else "")
    return consumer_config(kind, FLOW, domain) + f"""
SELECT
    tr.block_date AS date,
    tr.token_address AS token_address,
    {segment} AS segment,
    toInt64(count()) AS transfers,
    sum(tr.amount) AS volume,
    toFloat64(0) AS volume_usd
FROM {{{{ ref('{TRANSFERS_MODEL}') }}}} AS tr
WHERE {predicate}{window}
GROUP BY date, token_address, segment
"""


def rollup(kind: str, domain: str, parent: str, segment: str) -> str:
    """Two or more hops from prices: never joins prices itself, so only lineage finds it."""
    window = ("\n    {{ refill.apply_monthly_incremental_filter('src.date', 'date', true) }}"
              if kind == "incremental" else "")
    return consumer_config(kind, FLOW, domain) + f"""
SELECT
    src.date AS date,
    src.token_address AS token_address,
    {segment} AS segment,
    sum(src.transfers) AS transfers,
    sum(src.volume) AS volume,
    sum(src.volume_usd) AS volume_usd
FROM {{{{ ref('{parent}') }}}} AS src
WHERE 1 = 1{window}
GROUP BY date, token_address, segment
"""


# -- marts and API -----------------------------------------------------------------------


def fct(domain: str, source: str, columns: Columns, consumer: str | None) -> str:
    """A full-rebuild mart over a cohort model: stale until re-run after the cohort is fixed."""
    join = ""
    extra = ""
    if consumer:
        join = (f"\nLEFT JOIN (SELECT date, token_address, sum(volume_usd) AS volume_usd "
                f"FROM {{{{ ref('{consumer}') }}}} GROUP BY date, token_address) AS v"
                "\n    ON v.date = c.date AND v.token_address = c.token_address")
        extra = ",\n    sum(v.volume_usd) AS flow_usd"
    return f"""{{{{ config(materialized='table', engine='MergeTree()', order_by='(date, symbol)',
    tags=['production', '{domain}']) }}}}

SELECT
    c.date AS date,
    t.symbol AS symbol,
    sum(c.{columns.native}) AS value,
    sum(c.{columns.usd}) AS value_usd{extra}
FROM {{{{ ref('{source}') }}}} AS c
INNER JOIN {{{{ ref('{TOKENS_SEED}') }}}} AS t ON t.token_address = c.token_address{join}
GROUP BY date, symbol
"""


def api(source: str, value: str) -> str:
    return f"""SELECT date, symbol AS label, {value} AS value
FROM {{{{ ref('{source}') }}}}
"""


def api_over_consumer(source: str) -> str:
    return f"""SELECT s.date AS date, t.symbol AS label, sum(s.volume_usd) AS value
FROM {{{{ ref('{source}') }}}} AS s
INNER JOIN {{{{ ref('{TOKENS_SEED}') }}}} AS t ON t.token_address = s.token_address
GROUP BY date, label
"""
