{#-
  Fails for every partition whose row count differs from its number of distinct keys
  (count() = uniqExact(key) per partition): duplicates a reader without FINAL counts
  twice, whether from an append without a barrier or an unmerged ReplacingMergeTree.

  key: a column name, a list of column names, or omitted when the test is attached to
  a column. partition_by: an SQL expression naming the partition; default the table's
  physical partition (_partition_id), which a view or a `where`-filtered test cannot
  see, so give the expression there (e.g. 'toStartOfMonth(date)').
-#}
{% test unique_grain_per_partition(model, column_name=none, key=none, partition_by=none) %}
  {{ return(adapter.dispatch('test_unique_grain_per_partition', 'refill')(model, column_name, key, partition_by)) }}
{% endtest %}

{#- The implementation, overridable through dispatch (`default__test_unique_grain_per_partition`). -#}
{% macro default__test_unique_grain_per_partition(model, column_name=none, key=none, partition_by=none) %}
  {%- set columns = refill._name_list(key if key is not none else column_name, 'key') -%}
  {%- set quoted = [] -%}
  {%- for column in columns -%}{%- do quoted.append(refill._quote(column)) -%}{%- endfor -%}
  {%- set partition = partition_by if partition_by is not none else '_partition_id' -%}
  SELECT
      toString({{ partition }}) AS partition,
      count() AS rows,
      uniqExact({{ quoted | join(', ') }}) AS keys,
      rows - keys AS duplicates
  FROM {{ refill._relation(model) }}
  GROUP BY partition
  HAVING rows != keys
{% endmacro %}
