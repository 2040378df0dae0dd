{% macro duplicate_keys_query(database, tables, partitions) %}
  {{ return(adapter.dispatch('duplicate_keys_query', 'refill')(database, tables, partitions)) }}
{% endmacro %}

{#-
  Rows (table_name, partition_id, rows, keys) for every partition holding one of the
  months whose row count differs from its number of distinct sorting keys: duplicates
  a reader without FINAL would count twice. No rows means every partition is clean.

  Reads each table's sorting key from system.tables, so it needs a live connection
  (dbt show / run-operation). Physical rows are counted on purpose, not FINAL: unmerged
  duplicates are exactly what the check is for. On a cluster each shard is checked on
  its own (cluster() reads one replica per shard; replicas hold the same rows).
-#}
{% macro default__duplicate_keys_query(database, tables, partitions) %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- set months = refill._month_list(partitions, 'partitions') -%}
  {%- if not execute -%}
    {{ return('SELECT 1') }}
  {%- endif -%}
  {%- set sorting_keys = refill._sorting_keys(database, tables) -%}
  {%- set partition_rows = run_query(refill.month_partitions_query(database, tables, months)) -%}
  {%- set ids = {} -%}
  {%- for row in partition_rows.rows -%}
    {%- do ids.setdefault(row['table_name'], []).append(row['partition_id']) -%}
  {%- endfor -%}
  {{ return(refill._duplicate_keys_sql(database, ids, sorting_keys)) }}
{% endmacro %}
