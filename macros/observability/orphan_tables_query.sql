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
  * refill_backup: `<model>__refill_backup_<run id>` (a refill's partition backups;
    `rollback` needs them while the run is unfinished).

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
        multiIf(
            match(name, '__refill_backup_[A-Za-z0-9_]+$'), 'refill_backup',
            endsWith(name, '__refill_stage'), 'refill_stage',
            match(name, '__dbt_(distributed_)?new_data(_[A-Za-z0-9_]+)?$'), 'dbt_new_data',
            match(name, '__dbt_(view_)?tmp$'), 'dbt_tmp',
            endsWith(name, '__dbt_backup'), 'dbt_backup',
            '') AS kind,
        extract(name, '^(.*?)__(?:refill_backup_|refill_stage$|dbt_)') AS model_name,
        if(kind = 'refill_backup', extract(name, '__refill_backup_([A-Za-z0-9_]+)$'), '') AS run_id,
        startsWith(comment, 'refill backup of ') AS is_refill_backup,
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
