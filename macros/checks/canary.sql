{% macro canary(model=none, date_column=none, value_column=none, group_by=[], start_date=none, end_date=none, threshold=1.5, zero_is_anomaly=false, where=none, canaries=none) %}
  {{ return(adapter.dispatch('canary', 'refill')(model, date_column, value_column, group_by, start_date, end_date, threshold, zero_is_anomaly, where, canaries)) }}
{% endmacro %}

{#-
  The canary as an operation that fails closed: runs canary_query for one canary (the
  arguments) or several (`canaries`: a list of {model, date_column, value_column,
  group_by, threshold, zero_is_anomaly, where}; default var('refill_canaries') when no
  model is given), all over the same start_date/end_date. Every canary is scanned
  before the verdict; then either each offending (entity, day, previous, value, ratio)
  row is printed and the invocation fails, or it prints how many entities and days
  each canary checked. A canary that found no rows at all in its window fails too: it
  cannot vouch for anything. Returns the number of offending rows (0).
-#}
{% macro default__canary(model=none, date_column=none, value_column=none, group_by=[], start_date=none, end_date=none, threshold=1.5, zero_is_anomaly=false, where=none, canaries=none) %}
  {%- if canaries is none and model is none -%}
    {%- set canaries = var('refill_canaries', []) -%}
    {%- if canaries | length == 0 -%}
      {{ exceptions.raise_compiler_error("refill: canary needs a model, a list of canaries, or var('refill_canaries')") }}
    {%- endif -%}
  {%- elif canaries is none -%}
    {%- set canaries = [{'model': model, 'date_column': date_column, 'value_column': value_column, 'group_by': group_by,
                         'threshold': threshold, 'zero_is_anomaly': zero_is_anomaly, 'where': where}] -%}
  {%- endif -%}
  {%- set checks = [] -%}
  {%- for config in refill._as_list(canaries) -%}
    {%- if config is not mapping -%}
      {{ exceptions.raise_compiler_error("refill: each canary must be a mapping with model, date_column, value_column, got '" ~ config ~ "'") }}
    {%- endif -%}
    {%- set check = {
        'model': config.get('model'), 'date_column': config.get('date_column'), 'value_column': config.get('value_column'),
        'group_by': config.get('group_by', []), 'threshold': config.get('threshold', 1.5),
        'zero_is_anomaly': config.get('zero_is_anomaly', false), 'where': config.get('where')} -%}
    {#- Render every query before running any, so a bad argument fails before any scan. -#}
    {%- do check.update({
        'query': refill.canary_query(check.model, check.date_column, check.value_column, check.group_by, start_date, end_date, check.threshold, check.zero_is_anomaly, check.where),
        'coverage': 'SELECT uniqExact(entity), uniqExact(day), count(), toString(min(day)), toString(max(day)) FROM ('
            ~ refill._canary_daily_sql(check.model, check.date_column, check.value_column, check.group_by, start_date, end_date, check.where) ~ ')',
        'label': check.model ~ '.' ~ check.value_column}) -%}
    {%- do checks.append(check) -%}
  {%- endfor -%}
  {%- if not execute -%}{{ return(0) }}{%- endif -%}

  {%- set failures = [] -%}
  {%- for check in checks -%}
    {%- set coverage = run_query(check.coverage).rows[0] -%}
    {%- set violations = run_query(check.query) -%}
    {%- if coverage[2] == 0 -%}
      {%- do log("refill canary " ~ check.label ~ ": FAIL, no rows in the window, nothing was checked", info=true) -%}
      {%- do failures.append(check.label ~ ' (no rows)') -%}
    {%- elif violations.rows | length > 0 -%}
      {%- do log("refill canary " ~ check.label ~ ": FAIL, " ~ violations.rows | length ~ " offending day(s) (threshold " ~ check.threshold ~ ")", info=true) -%}
      {%- do log("  entity | day | previous | value | ratio | reason", info=true) -%}
      {%- for row in violations.rows -%}
        {#- by name: canary_query is dispatched, and an override may order its columns otherwise -#}
        {%- do log("  " ~ row['entity'] ~ " | " ~ row['day'] ~ " | " ~ row['previous'] ~ " | " ~ row['value'] ~ " | "
              ~ (row['ratio'] if row['ratio'] is none else '%.4f' | format(row['ratio'])) ~ " | " ~ row['reason'], info=true) -%}
      {%- endfor -%}
      {%- do failures.append(check.label ~ ' (' ~ violations.rows | length ~ ' day(s))') -%}
    {%- else -%}
      {%- do log("refill canary " ~ check.label ~ ": OK, checked " ~ coverage[0] ~ " entities over " ~ coverage[1] ~ " days (" ~ coverage[3] ~ " to " ~ coverage[4] ~ ", " ~ coverage[2] ~ " entity-days)", info=true) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if failures -%}
    {{ exceptions.raise_compiler_error("refill canary failed: " ~ failures | join('; ')) }}
  {%- endif -%}
  {{ return(0) }}
{% endmacro %}
