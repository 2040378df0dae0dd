{#- One hop from prices: gpay payments per merchant with their USD value. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    engine='MergeTree()',
    order_by='(date, merchant, token_address)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, merchant, token_address)',
    tags=['production', 'gpay'],
) }}

SELECT
    tr.block_date AS date,
    tr.to_address AS merchant,
    tr.token_address AS token_address,
    any(t.symbol) AS symbol,
    toInt64(count()) AS payments,
    sum(tr.amount) AS amount,
    sum(tr.amount * p.price) AS amount_usd
FROM {{ ref('stg_execution_transfers') }} AS tr
INNER JOIN {{ ref('lab_tokens') }} AS t ON t.token_address = tr.token_address AND t.is_gpay_token = 1
LEFT JOIN {{ ref('int_execution_token_prices_daily') }} AS p
    ON p.token_address = tr.token_address AND p.date = tr.block_date
WHERE startsWith(tr.to_address, '0x6a7e')
    {{ refill.apply_monthly_incremental_filter('tr.block_date', 'date', true) }}
GROUP BY date, merchant, token_address
