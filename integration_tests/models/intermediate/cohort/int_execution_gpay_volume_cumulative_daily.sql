{#- A running total carried forward from {{ this }}: gpay volume and volume_usd to date per
    token, the window's days added to the last total the table holds before the window. It
    reads another cohort model (second layer), and a wrong day stays in every later total:
    a month is exact only if every earlier month is final. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert'),
    engine='ReplacingMergeTree()',
    order_by='(date, token_address)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address)',
    pre_hook=refill.refill_safe_pre_hook(),
    post_hook=refill.refill_safe_post_hook(),
    tags=['production', 'gpay', 'refill_append'],
) }}
{% set start_month = var('start_month', none) %}
{% set end_month = var('end_month', none) %}

WITH daily AS (
    SELECT date, token_address, symbol, volume, volume_usd
    FROM {{ ref('int_execution_gpay_activity_daily') }}
    WHERE 1 = 1
    {% if start_month and end_month %}
        AND toStartOfMonth(date) >= toDate('{{ start_month }}')
        AND toStartOfMonth(date) <= toDate('{{ end_month }}')
    {% else %}
        {{ refill.apply_monthly_incremental_filter('date', 'date', true) }}
    {% endif %}
),

opening AS (
{% if is_incremental() %}
    SELECT
        token_address,
        argMax(cumulative_volume, date) AS volume,
        argMax(cumulative_volume_usd, date) AS volume_usd
    FROM {{ this }}
    WHERE date < (SELECT min(date) FROM daily)
    GROUP BY token_address
{% else %}
    SELECT '' AS token_address, toInt64(0) AS volume, toDecimal128(0, 6) AS volume_usd
    WHERE 0
{% endif %}
)

SELECT
    d.date AS date,
    d.token_address AS token_address,
    d.symbol AS symbol,
    toInt64(o.volume + sum(d.volume) OVER w) AS cumulative_volume,
    toDecimal128(o.volume_usd + sum(d.volume_usd) OVER w, 6) AS cumulative_volume_usd
FROM daily AS d
{#- join_use_nulls = 0: a token without an opening total joins as 0 #}
LEFT JOIN opening AS o ON o.token_address = d.token_address
WINDOW w AS (PARTITION BY d.token_address ORDER BY d.date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
