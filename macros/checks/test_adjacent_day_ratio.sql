{#- The implementation of the generic test adjacent_day_ratio (tests/generic/adjacent_day_ratio.sql), overridable through dispatch. -#}
{% macro default__test_adjacent_day_ratio(model, column_name, date_column, group_by=[], threshold=1.5, zero_is_anomaly=false, start_date=none, end_date=none) %}
  {{ refill.canary_query(model, date_column, column_name, group_by, start_date, end_date, threshold, zero_is_anomaly) }}
{% endmacro %}
