{#- Written exactly like the seed: unprefixed macros, resolved by the project's shims. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert'),
    engine='ReplacingMergeTree()',
    order_by='(date, token_address)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address)',
    pre_hook=refill_safe_pre_hook(),
    post_hook=refill_safe_post_hook(),
    tags=['production', 'execution', 'refill_append'],
) }}
{% set start_month = var('start_month', none) %}
{% set end_month = var('end_month', none) %}

SELECT
    date,
    token_address,
    any(symbol) AS symbol,
    sum(balance) AS supply,
    toInt64(countIf(balance > 0)) AS holders,
    sum(balance_usd) AS supply_usd
FROM {{ ref('int_execution_tokens_balances_daily') }}
WHERE 1 = 1
{% if start_month and end_month %}
    AND toStartOfMonth(date) >= toDate('{{ start_month }}')
    AND toStartOfMonth(date) <= toDate('{{ end_month }}')
{% else %}
    {{ apply_monthly_incremental_filter('date', 'date', true) }}
{% endif %}
GROUP BY date, token_address
