{% macro backups_query(database=none, suffix=none) %}
  {{ return(adapter.dispatch('backups_query', 'refill')(database, suffix)) }}
{% endmacro %}

{#-
  Rows (backup_table, source_table, suffix, months) of the partition backups in
  `database` (default: the target schema), optionally of one suffix. `months` is the
  comma-separated list of months the backup holds, as recorded by backup_partitions.
-#}
{% macro default__backups_query(database=none, suffix=none) %}
  {%- set database = refill._name(database if database is not none else target.schema, 'database') -%}
  {%- if suffix is not none -%}{%- do refill.backup_table_name('t', suffix) -%}{%- endif -%}
  {%- set query -%}
    SELECT
        name AS backup_table,
        {{ refill._backup_marker_sql('source_table') }} AS source_table,
        {{ refill._backup_marker_sql('suffix') }} AS suffix,
        {{ refill._backup_marker_sql('months') }} AS months
    FROM (
        {#- every replica: a backup an interrupted ON CLUSTER DDL left on some of them only counts too -#}
        SELECT DISTINCT name, comment FROM {{ refill._system_table('tables') }}
        WHERE database = {{ refill._string_literal(database) }}
    )
    WHERE {{ refill._backup_marker_sql('is_backup') }}
      {%- if suffix is not none %}
      AND suffix = {{ refill._string_literal(suffix) }}
      {%- endif %}
    ORDER BY backup_table
  {%- endset -%}
  {{ return(query) }}
{% endmacro %}
