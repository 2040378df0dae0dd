{#- DROP TABLE IF EXISTS … SYNC: gone when the statement returns, not later (Atomic databases delay drops). -#}
{% macro _drop_table_sql(database, table_name) %}
  {{ return('DROP TABLE IF EXISTS ' ~ refill._table(database, table_name) ~ refill._on_cluster() ~ ' SYNC') }}
{% endmacro %}
