{#- A cohort model whose refill strategy is insert_overwrite (the lab opts in with
    refill_allow_insert_overwrite). dbt-clickhouse's insert_overwrite takes no unique_key. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=('insert_overwrite' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert'),
    engine='ReplacingMergeTree()',
    order_by='(date, token_address)',
    partition_by='toStartOfMonth(date)',
    unique_key=(none if (var('start_month', none) or var('incremental_end_date', none)) else '(date, token_address)'),
    pre_hook=refill.refill_safe_pre_hook(),
    post_hook=refill.refill_safe_post_hook(),
    tags=['production', 'gpay', 'refill_append'],
) }}
{% set start_month = var('start_month', none) %}
{% set end_month = var('end_month', none) %}

SELECT
    tr.block_date AS date,
    tr.token_address AS token_address,
    any(t.symbol) AS symbol,
    toInt64(count()) AS payments,
    toInt64(uniqExact(tr.from_address)) AS payers,
    sum(tr.amount) AS volume,
    sum(tr.amount * p.price) AS volume_usd
FROM {{ ref('stg_execution_transfers') }} AS tr
INNER JOIN {{ ref('lab_tokens') }} AS t ON t.token_address = tr.token_address AND t.is_gpay_token = 1
LEFT JOIN {{ ref('int_execution_token_prices_daily') }} AS p
    ON p.token_address = tr.token_address AND p.date = tr.block_date
WHERE startsWith(tr.to_address, '0x6a7e')
{% if start_month and end_month %}
    AND toStartOfMonth(tr.block_date) >= toDate('{{ start_month }}')
    AND toStartOfMonth(tr.block_date) <= toDate('{{ end_month }}')
{% else %}
    {{ refill.apply_monthly_incremental_filter('tr.block_date', 'date', true) }}
{% endif %}
GROUP BY date, token_address
