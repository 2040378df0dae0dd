{#- The view the seed's Step 3 checks: non-zero value for each token on the gap day. -#}
SELECT date, symbol AS label, volume_usd AS value
FROM {{ ref('int_execution_gpay_volume_by_token_daily') }}
