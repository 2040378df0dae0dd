{% macro month_partitions_query(database, tables, partitions) %}
  {{ return(adapter.dispatch('month_partitions_query', 'refill')(database, tables, partitions)) }}
{% endmacro %}

{#-
  Which partitions hold each month: rows (table_name, month, partition_id, rows), one
  per table, month and active partition; a month with no row in a table has no row here,
  and a table that does not exist has none.

  The month of a partition is the month its partition value names under the table's
  partition key (see _partition_months): daily partitions belong to their month, and a
  key refill cannot place in months (coarser than a month, weekly, not a date) is a
  compiler error naming the table, never a guess.
-#}
{% macro default__month_partitions_query(database, tables, partitions) %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- set months = refill._month_list(partitions, 'partitions') -%}
  {%- set month_values = [] -%}
  {%- for month in months -%}{%- do month_values.append("toDate('" ~ month ~ "')") -%}{%- endfor -%}
  {%- set selects = [] -%}
  {%- for table in tables if execute -%}
    {%- set key = refill._partition_months(database, table) -%}
    {%- if key is not none and key.problem -%}
      {{ exceptions.raise_compiler_error("refill: " ~ refill._table(database, table) ~ " is partitioned by "
          ~ (key.partition_key or 'tuple()') ~ ": " ~ key.problem) }}
    {%- elif key is not none -%}
      {#- DISTINCT name: on a cluster system.parts lists each part once per replica -#}
      {%- do selects.append(
          "SELECT table AS table_name, month, partition_id, sum(rows) AS rows FROM ("
          ~ " SELECT DISTINCT table, partition_id, name, rows, " ~ key.part_month ~ " AS month"
          ~ " FROM " ~ refill._system_table('parts')
          ~ " WHERE active AND database = " ~ refill._string_literal(database) ~ " AND table = " ~ refill._string_literal(table)
          ~ ") WHERE month IN (" ~ month_values | join(', ') ~ ") GROUP BY table_name, month, partition_id") -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not selects -%}
    {{ return("SELECT '' AS table_name, CAST(NULL, 'Nullable(Date)') AS month, '' AS partition_id, toUInt64(0) AS rows WHERE 0") }}
  {%- endif -%}
  {#- ORDER BY after UNION ALL would bind to the last SELECT only. -#}
  {{ return('SELECT * FROM (\n' ~ selects | join('\nUNION ALL\n') ~ '\n)\nORDER BY table_name, month, partition_id') }}
{% endmacro %}
