{% macro apply_monthly_incremental_filter(source_field, destination_field=none, add_and=false, lookback_days=1) %}
  {{ return(adapter.dispatch('apply_monthly_incremental_filter', 'refill')(source_field, destination_field, add_and, lookback_days)) }}
{% endmacro %}

{#-
  The incremental window of a model, as a predicate on `source_field` (an SQL
  expression over the model's inputs, e.g. 'tr.block_date'):

  * not an incremental run (first build, full refresh): nothing;
  * var('start_month') set (a refill rewriting months, or the seed's month runs): the
    months [start_month, end_month] whole. refill_swap compiles the model incremental
    and replaces each window month with what the staging table holds: a day lookback
    there would replace the month with a slice of it;
  * the target is empty: nothing (everything is new);
  * otherwise the lookback ends at the target's max(destination_field) and covers
    var('price_lookback_days', lookback_days) days, so the refill orchestrator widens
    every consumer at once: 12 days from a max of 2026-04-27 re-pull 2026-04-16 onward;
  * var('incremental_end_date') set: also bounded above by that day;
  * incremental_strategy 'insert_overwrite': both edges widened to whole months,
    because insert_overwrite replaces every partition the new rows touch, and a window
    narrower than a month would replace that month with the slice.
-#}
{% macro default__apply_monthly_incremental_filter(source_field, destination_field, add_and, lookback_days) %}
  {%- if source_field is not string or (source_field | trim) == '' -%}
    {{ exceptions.raise_compiler_error("refill: apply_monthly_incremental_filter needs source_field, an SQL expression such as 'date', got '" ~ source_field ~ "'") }}
  {%- endif -%}
  {%- set destination = destination_field if destination_field is not none else source_field -%}
  {%- if destination is not string or (destination | trim) == '' -%}
    {{ exceptions.raise_compiler_error("refill: apply_monthly_incremental_filter: destination_field must be a column of the model, got '" ~ destination ~ "'") }}
  {%- endif -%}
  {%- set days_value = var('price_lookback_days', lookback_days) -%}
  {%- if not modules.re.match('^[0-9]+$', days_value | string | trim) or (days_value | int) < 1 -%}
    {{ exceptions.raise_compiler_error("refill: price_lookback_days (or lookback_days) must be a whole number of days >= 1, got '" ~ days_value ~ "'") }}
  {%- endif -%}
  {%- set days = days_value | int -%}
  {%- set end_date = var('incremental_end_date', none) -%}
  {%- if end_date is not none and (end_date | string | trim) != '' -%}
    {%- set end_date = refill._date(end_date, 'incremental_end_date') -%}
  {%- else -%}
    {%- set end_date = none -%}
  {%- endif -%}

  {%- set start_month = var('start_month', none) -%}
  {%- if start_month is not none and (start_month | string | trim) != '' -%}
    {%- set window_start = refill._month_start(start_month, 'start_month') -%}
    {%- set window_end = refill._month_start(var('end_month', none) or start_month, 'end_month') -%}
    {%- if window_end < window_start -%}
      {{ exceptions.raise_compiler_error("refill: apply_monthly_incremental_filter: end_month " ~ window_end ~ " is before start_month " ~ window_start) }}
    {%- endif -%}
  {%- endif -%}

  {%- if not is_incremental() -%}
    {{ return('') }}
  {%- endif -%}

  {%- set day = 'toDate(' ~ source_field ~ ')' -%}
  {%- if start_month is not none and (start_month | string | trim) != '' -%}
    {{ return(('AND ' if add_and else '') ~ 'toStartOfMonth(' ~ day ~ ") >= toDate('" ~ window_start ~ "') AND toStartOfMonth(" ~ day ~ ") <= toDate('" ~ window_end ~ "')") }}
  {%- endif -%}

  {%- set latest = run_query('SELECT toString(maxOrNull(toDate(' ~ destination ~ '))) FROM ' ~ this).rows[0][0] -%}
  {%- if latest is none -%}
    {{ return('') }}
  {%- endif -%}
  {%- set since = "subtractDays(toDate('" ~ latest ~ "'), " ~ (days - 1) ~ ")" -%}
  {%- set conditions = [] -%}
  {%- if config.get('incremental_strategy') == 'insert_overwrite' -%}
    {%- do conditions.append(day ~ ' >= toStartOfMonth(' ~ since ~ ')') -%}
    {%- if end_date -%}
      {%- do conditions.append(day ~ " <= toLastDayOfMonth(toDate('" ~ end_date ~ "'))") -%}
    {%- endif -%}
  {%- else -%}
    {%- do conditions.append(day ~ ' >= ' ~ since) -%}
    {%- if end_date -%}
      {%- do conditions.append(day ~ " <= toDate('" ~ end_date ~ "')") -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(('AND ' if add_and else '') ~ conditions | join(' AND ')) }}
{% endmacro %}
