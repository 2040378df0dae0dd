{#- A price consumer outside the cohort: delete+insert over the lookback window, which
    `price_lookback_days` widens for every consumer at once. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    engine='MergeTree()',
    order_by='(date, token_address)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address)',
    tags=['production', 'execution'],
) }}

SELECT
    tr.block_date AS date,
    tr.token_address AS token_address,
    any(t.symbol) AS symbol,
    toInt64(count()) AS transfers,
    sum(tr.amount) AS volume,
    sum(tr.amount * p.price) AS volume_usd
FROM {{ ref('stg_execution_transfers') }} AS tr
INNER JOIN {{ ref('lab_tokens') }} AS t ON t.token_address = tr.token_address
LEFT JOIN {{ ref('int_execution_token_prices_daily') }} AS p
    ON p.token_address = tr.token_address AND p.date = tr.block_date
WHERE 1 = 1
    {{ refill.apply_monthly_incremental_filter('tr.block_date', 'date', true) }}
GROUP BY date, token_address
