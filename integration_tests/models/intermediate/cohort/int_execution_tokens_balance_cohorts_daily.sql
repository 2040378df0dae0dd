{#- Third cohort layer: reads the balances and the supply aggregator. Holders of an
    unpriced token land in the 'unpriced' bucket: after a price backfill those keys
    must disappear, which append + OPTIMIZE cannot do. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert'),
    engine='ReplacingMergeTree()',
    order_by='(date, token_address, bucket)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address, bucket)',
    pre_hook=refill.refill_safe_pre_hook(),
    post_hook=refill.refill_safe_post_hook(),
    tags=['production', 'execution', 'refill_append'],
) }}
{% set start_month = var('start_month', none) %}
{% set end_month = var('end_month', none) %}

WITH bucketed AS (
    SELECT
        date,
        token_address,
        multiIf(balance_usd = 0, 'unpriced', balance_usd < 1000, 'lt_1k', balance_usd < 100000, 'lt_100k', 'ge_100k') AS bucket,
        balance,
        balance_usd
    FROM {{ ref('int_execution_tokens_balances_daily') }}
    WHERE 1 = 1
    {% if start_month and end_month %}
        AND toStartOfMonth(date) >= toDate('{{ start_month }}')
        AND toStartOfMonth(date) <= toDate('{{ end_month }}')
    {% else %}
        {{ refill.apply_monthly_incremental_filter('date', 'date', true) }}
    {% endif %}
)

SELECT
    b.date AS date,
    b.token_address AS token_address,
    b.bucket AS bucket,
    toInt64(count()) AS holders,
    sum(b.balance) AS balance,
    sum(b.balance_usd) AS balance_usd,
    intDiv(sum(b.balance) * 1000000, any(s.supply)) AS supply_share_ppm
FROM bucketed AS b
INNER JOIN {{ ref('int_execution_tokens_supply_holders_daily') }} AS s
    ON s.date = b.date AND s.token_address = b.token_address
GROUP BY b.date, b.token_address, b.bucket
