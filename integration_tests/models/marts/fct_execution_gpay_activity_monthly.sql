{{ config(
    materialized='table',
    engine='MergeTree()',
    order_by='(month, symbol)',
    tags=['production', 'gpay'],
) }}

SELECT
    toStartOfMonth(date) AS month,
    symbol,
    sum(payments) AS payments,
    sum(volume) AS volume,
    sum(volume_usd) AS volume_usd
FROM {{ ref('int_execution_gpay_activity_daily') }}
GROUP BY month, symbol
