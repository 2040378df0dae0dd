{#- Two hops from prices (the seed's gpay chain): it never joins prices itself, so only
    the lineage selector `prices+` finds it. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    engine='MergeTree()',
    order_by='(date, symbol)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, symbol)',
    tags=['production', 'gpay'],
) }}

SELECT
    date,
    symbol,
    sum(payments) AS payments,
    sum(amount_usd) AS volume_usd
FROM {{ ref('int_execution_gpay_payments_daily') }}
WHERE 1 = 1
    {{ refill.apply_monthly_incremental_filter('date', 'date', true) }}
GROUP BY date, symbol
