{#- ALTER TABLE … MODIFY COMMENT, on every replica. -#}
{% macro _comment_sql(database, table_name, comment) %}
  {{ return('ALTER TABLE ' ~ refill._table(database, table_name) ~ refill._on_cluster()
      ~ ' MODIFY COMMENT ' ~ refill._string_literal(comment) ~ ' SETTINGS alter_sync = 2') }}
{% endmacro %}
