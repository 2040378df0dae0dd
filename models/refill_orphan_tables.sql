{#- Temporary tables dbt and refill left behind (see refill.orphan_tables_query); drop
    the old ones with `python -m refill cleanup`. -#}
{{ config(enabled=var('refill_observability', false)) }}
{{ refill.orphan_tables_query() }}
