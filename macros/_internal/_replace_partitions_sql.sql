{#- ALTER TABLE target REPLACE PARTITION ID … FROM source, for every id in one statement. -#}
{% macro _replace_partitions_sql(database, target_table, source_table, partition_ids) %}
  {%- set clauses = [] -%}
  {%- for partition_id in partition_ids -%}
    {%- do clauses.append('REPLACE PARTITION ID ' ~ refill._string_literal(partition_id) ~ ' FROM ' ~ refill._table(database, source_table)) -%}
  {%- endfor -%}
  {{ return('ALTER TABLE ' ~ refill._table(database, target_table) ~ refill._on_cluster() ~ ' '
      ~ clauses | join(', ') ~ ' ' ~ refill._partition_write_settings()) }}
{% endmacro %}
