{#- The OPTIMIZE statement of one partition (see optimize_partitions_final for the settings). -#}
{% macro _optimize_sql(database, table_name, partition_id) %}
  {{ return('OPTIMIZE TABLE ' ~ refill._table(database, table_name) ~ refill._on_cluster()
      ~ ' PARTITION ID ' ~ refill._string_literal(partition_id)
      ~ ' FINAL DEDUPLICATE SETTINGS optimize_throw_if_noop = 1, alter_sync = 2') }}
{% endmacro %}
