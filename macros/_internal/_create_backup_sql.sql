{#- The backup twin: same structure as the table, marked from birth (CREATE … AS would copy the table's comment). -#}
{% macro _create_backup_sql(database, table_name, backup_name, comment) %}
  {{ return('CREATE TABLE IF NOT EXISTS ' ~ refill._table(database, backup_name) ~ refill._on_cluster()
      ~ ' AS ' ~ refill._table(database, table_name) ~ ' COMMENT ' ~ refill._string_literal(comment)) }}
{% endmacro %}
