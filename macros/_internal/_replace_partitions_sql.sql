{#- ALTER TABLE target … FROM source for every id, in one statement (how: _replace_partition_clauses). -#}
{% macro _replace_partitions_sql(database, target_table, source_table, partition_ids) %}
  {{ return('ALTER TABLE ' ~ refill._table(database, target_table) ~ refill._on_cluster() ~ ' '
      ~ refill._replace_partition_clauses(partition_ids, refill._table(database, source_table)) ~ ' '
      ~ refill._partition_write_settings()) }}
{% endmacro %}
