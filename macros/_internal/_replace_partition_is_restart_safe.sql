{#-
  Whether the server's REPLACE PARTITION covers the parts it replaces (26.6 on: see _replace_partition_clauses).
  dbt-clickhouse answers False when no connection is open (the version is unknown): then
  the DROP + ATTACH form is used, which is restart-safe on every version (26.9 tested too).
-#}
{% macro _replace_partition_is_restart_safe() %}
  {{ return(adapter.is_at_or_after_version('26.6')) }}
{% endmacro %}
