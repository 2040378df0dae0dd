{#-
  An SQL expression: the month (Nullable(Date), the first day) of `value_sql`, a value
  of a partition key element of `kind` (see _partition_month_rule). A DateTime's month is
  taken in the value's own time zone, which is the zone ClickHouse partitioned it in.
-#}
{% macro _month_of_sql(value_sql, kind) %}
  {%- if kind == 'date' -%}
    {{ return("CAST(toStartOfMonth(" ~ value_sql ~ "), 'Nullable(Date)')") }}
  {%- elif kind == 'yyyymm' -%}
    {{ return("CAST(makeDate(intDiv(" ~ value_sql ~ ", 100), (" ~ value_sql ~ ") % 100, 1), 'Nullable(Date)')") }}
  {%- elif kind == 'yyyymmdd' -%}
    {{ return("CAST(makeDate(intDiv(" ~ value_sql ~ ", 10000), intDiv(" ~ value_sql ~ ", 100) % 100, 1), 'Nullable(Date)')") }}
  {%- endif -%}
  {{ exceptions.raise_compiler_error("refill: _month_of_sql: unknown kind '" ~ kind ~ "'") }}
{% endmacro %}
