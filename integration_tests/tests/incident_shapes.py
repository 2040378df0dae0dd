"""Model texts shared by the small incident projects (see incident_project.py).

Each is the smallest model of its kind that honours the refill contract: a prices view
over the raw feed, a price-derived cohort model in the lab's shape, and the feeds that
give them days to read.
"""

from __future__ import annotations

import datetime as dt

from incident_project import RawTable

HISTORY_START = dt.date(2026, 3, 1)
TOKENS = ("GNO", "WETH", "USDC")

PRICES_VIEW = """
{{ config(materialized='view') }}
SELECT day AS date, token, price FROM {{ source('raw', 'prices') }}
"""

# The refill contract in the lab's spelling: append under start_month, delete+insert daily.
COHORT_CONFIG = """
{{{{ config(
    materialized='incremental',
    incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert'),
    engine='ReplacingMergeTree()',
    order_by='{order_by}',
    partition_by='{partition_by}',
    unique_key='{order_by}',
    pre_hook=refill.refill_safe_pre_hook(),
    post_hook=refill.refill_safe_post_hook(),
    tags=['refill_append'],
    {extra}
) }}}}
{{% set start_month = var('start_month', none) %}}
{{% set end_month = var('end_month', none) %}}
"""


def cohort_config(order_by: str, partition_by: str = "toStartOfMonth(date)", extra: str = "") -> str:
    return COHORT_CONFIG.format(order_by=order_by, partition_by=partition_by, extra=extra)


def month_window(column: str) -> str:
    """The contract's month window on ``column``: the month vars, else the daily lookback."""
    return f"""
{{% if start_month and end_month %}}
    AND toStartOfMonth({column}) >= toDate('{{{{ start_month }}}}')
    AND toStartOfMonth({column}) <= toDate('{{{{ end_month }}}}')
{{% else %}}
    {{{{ refill.apply_monthly_incremental_filter('{column}', 'date', true) }}}}
{{% endif %}}
"""


def volume_cohort(prices: str = "prices") -> str:
    """A cohort model pricing the transfers through ``ref(prices)``."""
    return cohort_config("(date, token)") + """
SELECT t.day AS date, t.token AS token, sum(t.amount) AS volume, sum(t.amount * p.price) AS volume_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('""" + prices + """') }} AS p ON p.token = t.token AND p.date = t.day
WHERE 1 = 1
""" + month_window("t.day") + """
GROUP BY date, token
"""


VOLUME_COHORT = volume_cohort()

# Prices deduplicated into a table (a common real shape): it holds a backfilled day only
# once dbt rebuilds it.
PRICES_TABLE = """
{{ config(materialized='table', engine='MergeTree()', order_by='(date, token)') }}
SELECT day AS date, token, max(price) AS price FROM {{ source('raw', 'prices') }} GROUP BY date, token
"""


def priced_consumer(name_of_input: str = "prices", *, partition_by: str = "toStartOfMonth(date)") -> str:
    """An incremental consumer outside the cohort whose window is the lookback macro's."""
    return f"""
{{{{ config(
    materialized='incremental', incremental_strategy='delete+insert', engine='ReplacingMergeTree()',
    order_by='(date, token)', unique_key='(date, token)', partition_by='{partition_by}'
) }}}}
SELECT t.day AS date, t.token AS token, t.amount * p.price AS amount_usd
FROM {{{{ source('raw', 'transfers') }}}} AS t
LEFT JOIN {{{{ ref('{name_of_input}') }}}} AS p ON p.token = t.token AND p.date = t.day
WHERE 1 = 1 {{{{ refill.apply_monthly_incremental_filter('t.day', 'date', true) }}}}
"""

RAW_TABLES = (
    RawTable("prices", "day Date, token String, price Float64", order_by="(day, token)", is_prices=True),
    RawTable("transfers", "day Date, token String, amount Float64", order_by="(day, token)"),
)


def feed(day: dt.date) -> dict[str, list[tuple]]:
    """Deterministic prices and transfers for ``day``: every token priced and moved daily."""
    n = day.toordinal()
    return {
        "prices": [(day, token, float(1 + (n * (i + 3)) % 17)) for i, token in enumerate(TOKENS)],
        "transfers": [(day, token, float(10 + (n * (i + 5)) % 23)) for i, token in enumerate(TOKENS)],
    }


# -- 'user balances': per user per day, the balance carried forward from {{ this }} ---------

BALANCE_RAW_TABLES = (
    RawTable("prices", "day Date, token String, price Float64", order_by="(day, token)", is_prices=True),
    RawTable("blocks", "day Date", order_by="day"),
    RawTable("deposits", "day Date, user String, amount Float64", order_by="(day, user)"),
)

# A deposits 100 in March and nothing in April; B deposits 50 in March and 10 on 04-10.
DEPOSITS = {dt.date(2026, 3, 5): [("A", 100.0)], dt.date(2026, 3, 8): [("B", 50.0)], dt.date(2026, 4, 10): [("B", 10.0)]}


def balance_feed(day: dt.date) -> dict[str, list[tuple]]:
    """One block a day (the calendar), a GNO price a day, and the deposits above."""
    return {
        "prices": [(day, "GNO", float(100 + day.toordinal() % 7))],
        "blocks": [(day,)],
        "deposits": [(day, user, amount) for user, amount in DEPOSITS.get(day, [])],
    }


def user_balances(carry_state: str = "is_incremental()") -> str:
    """Per user per day, the last balance in ``{{ this }}`` plus the window's deposits.

    ``carry_state`` is the Jinja condition under which the earlier balance is read from
    ``{{ this }}``: the daily runs need it; a month rewrite that does not honour it (today's
    rewrite runs with is_incremental() false) recomputes April from April's deposits alone.
    """
    return cohort_config("(date, user)") + """
WITH days AS (
    SELECT DISTINCT b.day AS day FROM {{ source('raw', 'blocks') }} AS b
    WHERE 1 = 1
""" + month_window("b.day") + """
),
bounds AS (SELECT min(day) AS first_day, max(day) AS last_day FROM days),
prev AS (
{% if """ + carry_state + """ %}
    SELECT user, argMax(balance, date) AS balance FROM {{ this }}
    WHERE date < (SELECT first_day FROM bounds) GROUP BY user
{% else %}
    SELECT '' AS user, toFloat64(0) AS balance WHERE 0
{% endif %}
),
deltas AS (
    SELECT day, user, sum(amount) AS amount FROM {{ source('raw', 'deposits') }}
    WHERE 1 = 1
""" + month_window("day") + """
    GROUP BY day, user
),
users AS (SELECT user FROM prev UNION DISTINCT SELECT user FROM deltas),
grid AS (
    SELECT d.day AS date, u.user AS user, x.amount AS amount
    FROM days AS d CROSS JOIN users AS u
    LEFT JOIN deltas AS x ON x.day = d.day AND x.user = u.user
),
balances AS (
    SELECT g.date AS date, g.user AS user,
           pv.balance + sum(g.amount) OVER (PARTITION BY g.user ORDER BY g.date
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance
    FROM grid AS g LEFT JOIN prev AS pv ON pv.user = g.user
)
SELECT b.date AS date, b.user AS user, b.balance AS balance, b.balance * p.price AS balance_usd
FROM balances AS b
LEFT JOIN {{ ref('prices') }} AS p ON p.token = 'GNO' AND p.date = b.date
"""
