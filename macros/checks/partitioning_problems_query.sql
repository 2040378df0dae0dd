{% macro partitioning_problems_query(database, tables) %}
  {{ return(adapter.dispatch('partitioning_problems_query', 'refill')(database, tables)) }}
{% endmacro %}

{#-
  Rows (table_name, partition_key, problem), one per table whose partitions refill cannot
  place in months (see _partition_months): partitioned by something coarser than a
  month, by week, by no date, or not at all. A refill swaps, backs up and restores whole
  months, so such a table is refused before anything is written. A table that does not
  exist yet has no row (its first build has no partition to replace). Read-only.
-#}
{% macro default__partitioning_problems_query(database, tables) %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- set selects = [] -%}
  {%- for table in tables if execute -%}
    {%- set key = refill._partition_months(database, table) -%}
    {%- if key is not none and key.problem -%}
      {%- do selects.append("SELECT " ~ refill._string_literal(table) ~ " AS table_name, "
          ~ refill._string_literal(key.partition_key) ~ " AS partition_key, " ~ refill._string_literal(key.problem) ~ " AS problem") -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not selects -%}
    {{ return("SELECT '' AS table_name, '' AS partition_key, '' AS problem WHERE 0") }}
  {%- endif -%}
  {{ return(selects | join('\nUNION ALL\n')) }}
{% endmacro %}
