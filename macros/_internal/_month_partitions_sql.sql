{#-
  The scan behind month_partitions_query: rows (table_name, month, partition_id, rows)
  for {table: SQL of a system.parts row's month (see _partition_months)} and the months.
-#}
{% macro _month_partitions_sql(database, part_months, months) %}
  {%- set month_values = [] -%}
  {%- for month in months -%}{%- do month_values.append("toDate('" ~ month ~ "')") -%}{%- endfor -%}
  {%- set selects = [] -%}
  {%- for table, part_month in part_months.items() | sort -%}
    {#- DISTINCT name: on a cluster system.parts lists each part once per replica -#}
    {%- do selects.append(
        "SELECT table AS table_name, month, partition_id, sum(rows) AS rows FROM ("
        ~ " SELECT DISTINCT table, partition_id, name, rows, " ~ part_month ~ " AS month"
        ~ " FROM " ~ refill._system_table('parts')
        ~ " WHERE active AND database = " ~ refill._string_literal(database) ~ " AND table = " ~ refill._string_literal(table)
        ~ ") WHERE month IN (" ~ month_values | join(', ') ~ ") GROUP BY table_name, month, partition_id") -%}
  {%- endfor -%}
  {%- if not selects -%}
    {{ return("SELECT '' AS table_name, CAST(NULL, 'Nullable(Date32)') AS month, '' AS partition_id, toUInt64(0) AS rows WHERE 0") }}
  {%- endif -%}
  {#- ORDER BY after UNION ALL would bind to the last SELECT only. -#}
  {{ return('SELECT * FROM (\n' ~ selects | join('\nUNION ALL\n') ~ '\n)\nORDER BY table_name, month, partition_id') }}
{% endmacro %}
