{% macro optimize_partition_final(database, table_name, partition, if_missing='error') %}
  {{ return(adapter.dispatch('optimize_partition_final', 'refill')(database, table_name, partition, if_missing)) }}
{% endmacro %}

{#- One table, one month: the seed's call shape. See optimize_partitions_final. -#}
{% macro default__optimize_partition_final(database, table_name, partition, if_missing='error') %}
  {{ return(refill.optimize_partitions_final(database, [refill._name(table_name, 'table_name')], [refill._month_start(partition, 'partition')], if_missing)) }}
{% endmacro %}
