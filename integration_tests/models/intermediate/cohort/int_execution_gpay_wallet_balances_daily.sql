{#- A balance carried forward from {{ this }}: each gpay wallet's balance of each gpay token,
    every day from its first payment received, starting from the last balance the table
    holds before the window (the upstream user-balances shape). Only the window's transfers
    are read, so the model is exact only if the month before the window is final. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert'),
    engine='ReplacingMergeTree()',
    order_by='(date, token_address, wallet)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address, wallet)',
    pre_hook=refill.refill_safe_pre_hook(),
    post_hook=refill.refill_safe_post_hook(),
    tags=['production', 'gpay', 'refill_append'],
) }}
{% set start_month = var('start_month', none) %}
{% set end_month = var('end_month', none) %}

WITH days AS (
    SELECT DISTINCT block_date AS date
    FROM {{ ref('stg_execution_transfers') }}
    WHERE 1 = 1
    {% if start_month and end_month %}
        AND toStartOfMonth(block_date) >= toDate('{{ start_month }}')
        AND toStartOfMonth(block_date) <= toDate('{{ end_month }}')
    {% else %}
        {{ refill.apply_monthly_incremental_filter('block_date', 'date', true) }}
    {% endif %}
),

opening AS (
{% if is_incremental() %}
    SELECT token_address, wallet, argMax(balance, date) AS balance
    FROM {{ this }}
    WHERE date < (SELECT min(date) FROM days)
    GROUP BY token_address, wallet
{% else %}
    SELECT '' AS token_address, '' AS wallet, toInt64(0) AS balance
    WHERE 0
{% endif %}
),

received AS (
    SELECT tr.block_date AS date, tr.token_address AS token_address, tr.to_address AS wallet, sum(tr.amount) AS amount
    FROM {{ ref('stg_execution_transfers') }} AS tr
    INNER JOIN {{ ref('lab_tokens') }} AS t ON t.token_address = tr.token_address AND t.is_gpay_token = 1
    WHERE startsWith(tr.to_address, '0x6a7e')
    {% if start_month and end_month %}
        AND toStartOfMonth(tr.block_date) >= toDate('{{ start_month }}')
        AND toStartOfMonth(tr.block_date) <= toDate('{{ end_month }}')
    {% else %}
        {{ refill.apply_monthly_incremental_filter('tr.block_date', 'date', true) }}
    {% endif %}
    GROUP BY date, token_address, wallet
),

holders AS (
    SELECT token_address, wallet FROM opening
    UNION DISTINCT
    SELECT token_address, wallet FROM received
),

running AS (
    SELECT
        d.date AS date,
        h.token_address AS token_address,
        h.wallet AS wallet,
        sum(r.amount) OVER w AS received_to_date,
        max(toUInt8(r.amount != 0)) OVER w AS has_received
    FROM days AS d
    CROSS JOIN holders AS h
    LEFT JOIN received AS r ON r.date = d.date AND r.token_address = h.token_address AND r.wallet = h.wallet
    WINDOW w AS (PARTITION BY h.token_address, h.wallet ORDER BY d.date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)

SELECT
    r.date AS date,
    r.token_address AS token_address,
    r.wallet AS wallet,
    toInt64(o.balance + r.received_to_date) AS balance,
    toInt64(o.balance + r.received_to_date) * p.price AS balance_usd
FROM running AS r
{#- join_use_nulls = 0: a wallet without an opening balance joins as 0 #}
LEFT JOIN opening AS o ON o.token_address = r.token_address AND o.wallet = r.wallet
LEFT JOIN {{ ref('int_execution_token_prices_daily') }} AS p
    ON p.token_address = r.token_address AND p.date = r.date
WHERE o.balance != 0 OR r.has_received = 1
