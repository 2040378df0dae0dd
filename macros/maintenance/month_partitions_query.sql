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
  {%- set part_months = {} -%}
  {%- for table in tables if execute -%}
    {%- set key = refill._partition_months(database, table) -%}
    {%- if key is not none and key.problem -%}
      {{ exceptions.raise_compiler_error("refill: " ~ refill._table(database, table) ~ " is partitioned by "
          ~ (key.partition_key or 'tuple()') ~ ": " ~ key.problem) }}
    {%- elif key is not none -%}
      {%- do part_months.update({table: key.part_month}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(refill._month_partitions_sql(database, part_months, months)) }}
{% endmacro %}
