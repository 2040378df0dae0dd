{#-
  Fails for every (entity, day) whose value jumps against the previous day beyond
  `threshold` (or below its inverse), and, with zero_is_anomaly, for zero, NULL or
  missing days: refill's canary as a test. Attach it to the value column. Without
  start_date/end_date the whole table is scanned; with them, the window starts 3 days
  before start_date's month (see refill.canary_query).
-#}
{% test adjacent_day_ratio(model, column_name, date_column, group_by=[], threshold=1.5, zero_is_anomaly=false, start_date=none, end_date=none) %}
  {{ return(adapter.dispatch('test_adjacent_day_ratio', 'refill')(model, column_name, date_column, group_by, threshold, zero_is_anomaly, start_date, end_date)) }}
{% endtest %}

{#- The implementation, overridable through dispatch (`default__test_adjacent_day_ratio`). -#}
{% macro default__test_adjacent_day_ratio(model, column_name, date_column, group_by=[], threshold=1.5, zero_is_anomaly=false, start_date=none, end_date=none) %}
  {{ refill.canary_query(model, date_column, column_name, group_by, start_date, end_date, threshold, zero_is_anomaly) }}
{% endmacro %}
