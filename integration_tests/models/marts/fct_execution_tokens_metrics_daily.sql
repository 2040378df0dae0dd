{{ config(
    materialized='table',
    engine='MergeTree()',
    order_by='(date, symbol)',
    tags=['production', 'execution'],
) }}

SELECT
    s.date AS date,
    s.symbol AS symbol,
    s.supply AS supply,
    s.holders AS holders,
    s.supply_usd AS supply_usd,
    toInt64(sumIf(c.holders, c.bucket = 'unpriced')) AS unpriced_holders
FROM {{ ref('int_execution_tokens_supply_holders_daily') }} AS s
LEFT JOIN {{ ref('int_execution_tokens_balance_cohorts_daily') }} AS c
    ON c.date = s.date AND c.token_address = s.token_address
GROUP BY date, symbol, supply, holders, supply_usd
