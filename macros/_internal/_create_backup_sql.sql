{#-
  The backup twin: same structure as the table, marked from birth (CREATE … AS would copy
  the table's comment). `engine`, from _backup_engine, gives a Replicated table's twin a
  replication path of its own.
-#}
{% macro _create_backup_sql(database, table_name, backup_name, comment, engine=none) %}
  {{ return('CREATE TABLE IF NOT EXISTS ' ~ refill._table(database, backup_name) ~ refill._on_cluster()
      ~ ' AS ' ~ refill._table(database, table_name) ~ (' ENGINE = ' ~ engine if engine else '')
      ~ ' COMMENT ' ~ refill._string_literal(comment)) }}
{% endmacro %}
