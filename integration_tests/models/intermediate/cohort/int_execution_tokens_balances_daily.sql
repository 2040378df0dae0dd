{{ config(
    materialized='incremental',
    incremental_strategy=('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert'),
    engine='ReplacingMergeTree()',
    order_by='(date, token_address, address)',
    partition_by='toStartOfMonth(date)',
    unique_key='(date, token_address, address)',
    pre_hook=refill.refill_safe_pre_hook(),
    post_hook=refill.refill_safe_post_hook(),
    tags=['production', 'execution', 'refill_append'],
) }}
{% set start_month = var('start_month', none) %}
{% set end_month = var('end_month', none) %}

{#- Balances change only on days with transfers: expand each change to the days it holds. -#}
WITH deltas AS (
    SELECT block_date AS changed_on, token_address, to_address AS address, amount AS delta
    FROM {{ ref('stg_execution_transfers') }}
    UNION ALL
    SELECT block_date, token_address, from_address, -amount
    FROM {{ ref('stg_execution_transfers') }}
    WHERE from_address != '0x0000000000000000000000000000000000000000'
),

changes AS (
    SELECT
        changed_on,
        token_address,
        address,
        sum(sum(delta)) OVER (
            PARTITION BY token_address, address ORDER BY changed_on
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS balance,
        leadInFrame(changed_on, 1, toDate('2149-06-06')) OVER (
            PARTITION BY token_address, address ORDER BY changed_on
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS next_change
    FROM deltas
    GROUP BY changed_on, token_address, address
),

last_day AS (
    SELECT max(block_date) AS day FROM {{ ref('stg_execution_transfers') }}
),

balances AS (
    SELECT
        addDays(c.changed_on, offset) AS date,
        c.token_address AS token_address,
        c.address AS address,
        c.balance AS balance
    FROM changes AS c
    ARRAY JOIN range(toUInt32(dateDiff('day', c.changed_on,
        least(c.next_change, addDays((SELECT day FROM last_day), 1))))) AS offset
    WHERE c.balance != 0
)

SELECT
    b.date AS date,
    b.token_address AS token_address,
    t.symbol AS symbol,
    b.address AS address,
    b.balance AS balance,
    b.balance * p.price AS balance_usd
FROM balances AS b
INNER JOIN {{ ref('lab_tokens') }} AS t ON t.token_address = b.token_address
{#- ClickHouse joins a missing price as 0, not NULL (join_use_nulls = 0): the gap's zeros. #}
LEFT JOIN {{ ref('int_execution_token_prices_daily') }} AS p
    ON p.token_address = b.token_address AND p.date = b.date
WHERE 1 = 1
{% if start_month and end_month %}
    AND toStartOfMonth(b.date) >= toDate('{{ start_month }}')
    AND toStartOfMonth(b.date) <= toDate('{{ end_month }}')
{% else %}
    {{ refill.apply_monthly_incremental_filter('b.date', 'date', true) }}
{% endif %}
