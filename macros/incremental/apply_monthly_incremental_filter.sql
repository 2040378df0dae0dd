{#- Minimal working version; hardened in the macros issue. -#}
{% macro apply_monthly_incremental_filter(source_field, destination_field=none, add_and=false, lookback_days=1) %}
  {{ return(adapter.dispatch('apply_monthly_incremental_filter', 'refill')(source_field, destination_field, add_and, lookback_days)) }}
{% endmacro %}

{% macro default__apply_monthly_incremental_filter(source_field, destination_field, add_and, lookback_days) %}
  {%- if not is_incremental() -%}{{ return('') }}{%- endif -%}
  {%- set destination = destination_field or source_field -%}
  {%- set days = var('price_lookback_days', lookback_days) | int -%}
  {%- set max_date = run_query('SELECT toString(max(toDate(' ~ destination ~ '))) FROM ' ~ this).columns[0].values()[0] -%}
  {%- set since = "addDays(toDate('" ~ max_date ~ "'), -" ~ (days - 1) ~ ")" -%}
  {%- set prefix = 'AND ' if add_and else '' -%}
  {%- if config.get('incremental_strategy') == 'insert_overwrite' -%}
    {{ return(prefix ~ 'toStartOfMonth(toDate(' ~ source_field ~ ')) >= toStartOfMonth(' ~ since ~ ')') }}
  {%- endif -%}
  {%- set clause = prefix ~ 'toDate(' ~ source_field ~ ') >= ' ~ since -%}
  {%- if var('incremental_end_date', none) -%}
    {%- set clause = clause ~ " AND toDate(" ~ source_field ~ ") <= toDate('" ~ var('incremental_end_date') ~ "')" -%}
  {%- endif -%}
  {{ return(clause) }}
{% endmacro %}
