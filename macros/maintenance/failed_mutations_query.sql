{% macro failed_mutations_query(database=none, tables=none) %}
  {{ return(adapter.dispatch('failed_mutations_query', 'refill')(database, tables)) }}
{% endmacro %}

{#-
  Rows (database_name, table_name, mutation_id, command, reason, create_time): the
  mutations of `database` (default: the target schema), optionally only of `tables`,
  that are not done, not killed, and have failed at least once. `reason` is the first
  line of the latest failure.
-#}
{% macro default__failed_mutations_query(database=none, tables=none) %}
  {%- set database = refill._name(database if database is not none else target.schema, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables', required=false) -%}
  {%- set query -%}
    SELECT
        database AS database_name,
        table AS table_name,
        mutation_id,
        command,
        any(splitByChar('\n', latest_fail_reason)[1]) AS reason,
        min(create_time) AS create_time
    FROM {{ refill._system_table('mutations') }}
    WHERE database = {{ refill._string_literal(database) }}
      {%- if tables %}
      AND table IN ({{ refill._literal_list(tables) }})
      {%- endif %}
      AND NOT is_done
      AND NOT is_killed
      AND latest_fail_reason != ''
    GROUP BY database_name, table_name, mutation_id, command
    ORDER BY table_name, create_time, mutation_id
  {%- endset -%}
  {{ return(query) }}
{% endmacro %}
