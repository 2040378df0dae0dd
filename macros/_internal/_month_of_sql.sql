{#-
  An SQL expression: the month (Nullable(Date32), its first day: Date32 keeps months
  before 1970) of `value_sql`, a value of a partition key element of `kind` (see
  _partition_month_rule). A DateTime's month is taken in the value's own time zone, which
  is the zone ClickHouse partitioned it in.
-#}
{% macro _month_of_sql(value_sql, kind) %}
  {%- if kind == 'date' -%}
    {#- not toStartOfMonth: it returns a Date, which clamps a Date32 before 1970 to 1970-01-01 -#}
    {{ return("CAST(addDays(toDate32(" ~ value_sql ~ "), 1 - toDayOfMonth(" ~ value_sql ~ ")), 'Nullable(Date32)')") }}
  {%- elif kind == 'yyyymm' -%}
    {{ return("CAST(makeDate32(intDiv(" ~ value_sql ~ ", 100), (" ~ value_sql ~ ") % 100, 1), 'Nullable(Date32)')") }}
  {%- elif kind == 'yyyymmdd' -%}
    {{ return("CAST(makeDate32(intDiv(" ~ value_sql ~ ", 10000), intDiv(" ~ value_sql ~ ", 100) % 100, 1), 'Nullable(Date32)')") }}
  {%- endif -%}
  {{ exceptions.raise_compiler_error("refill: _month_of_sql: unknown kind '" ~ kind ~ "'") }}
{% endmacro %}
