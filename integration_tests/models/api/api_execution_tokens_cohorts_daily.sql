SELECT c.date AS date, t.symbol AS symbol, c.bucket AS bucket, c.holders AS holders, c.balance_usd AS value
FROM {{ ref('int_execution_tokens_balance_cohorts_daily') }} AS c
INNER JOIN {{ ref('lab_tokens') }} AS t ON t.token_address = c.token_address
