SELECT
    block_date,
    token_address,
    from_address,
    to_address,
    amount
FROM {{ source('raw', 'transfers') }}
