{% macro orphan_tables_query(database=none) %}
  {{ return(adapter.dispatch('orphan_tables_query', 'refill')(database)) }}
{% endmacro %}

{#-
  Rows (replica, database_name, table_name, kind, model_name, run_id, is_refill_backup,
  created_at, age_seconds, engine, total_rows, total_bytes): the temporary tables dbt and
  refill leave in `database` (a name or a list; default: every database the project
  writes, custom schemas included) when a run dies half-way —

  * dbt_new_data: `<model>__dbt_new_data_<invocation>` (delete+insert, insert_overwrite),
    `__dbt_distributed_new_data`;
  * dbt_tmp / dbt_backup: `<model>__dbt_tmp`, `__dbt_view_tmp`, `__dbt_backup` (table
    materializations and their swap);
  * refill_stage: `<model>__refill_stage` (refill_swap writes the month here first);
  * refill_backup: a refill's partition backups (`rollback` needs them while the run is
    unfinished), known by their marker comment whatever backup_table_name calls them
    (`<model>__refill_backup_<run id>` by default); `model_name` and `run_id` come from
    the marker.

  Which names are which: _leftover_kind_sql, the one definition.

  A table is listed whatever its age: `created_at` is when its metadata last changed, and
  a young one probably belongs to a run that is going on. On a cluster every replica is
  read (one row per replica holding the table), since an interrupted ON CLUSTER DDL can
  leave a table on some replicas only.
-#}
{% macro default__orphan_tables_query(database=none) %}
  {%- set databases = refill._name_list(database if database is not none else refill._project_databases(), 'database') -%}
  {%- set query -%}
    SELECT
        hostName() AS replica,
        database AS database_name,
        name AS table_name,
        {{ refill._leftover_kind_sql() }} AS kind,
        {{ refill._leftover_model_sql('kind') }} AS model_name,
        if(kind = 'refill_backup', {{ refill._backup_marker_sql('suffix') }}, '') AS run_id,
        {{ refill._backup_marker_sql('is_backup') }} AS is_refill_backup,
        metadata_modification_time AS created_at,
        dateDiff('second', metadata_modification_time, now()) AS age_seconds,
        engine,
        total_rows,
        total_bytes
    FROM {{ refill._system_table('tables') }}
    WHERE database IN ({{ refill._literal_list(databases) }})
      AND kind != ''
    ORDER BY database_name, table_name, replica
  {%- endset -%}
  {{ return(query) }}
{% endmacro %}
