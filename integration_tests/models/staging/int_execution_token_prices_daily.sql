{#- The prices model: a view, so a backfilled raw day is visible on the next read. -#}
SELECT
    p.date AS date,
    t.token_address AS token_address,
    p.symbol AS symbol,
    p.price AS price
FROM {{ source('raw', 'prices') }} AS p
INNER JOIN {{ ref('lab_tokens') }} AS t ON t.symbol = p.symbol
