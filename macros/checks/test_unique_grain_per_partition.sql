{#- The implementation of the generic test unique_grain_per_partition (tests/generic/unique_grain_per_partition.sql), overridable through dispatch. -#}
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
