{#-
  What a leftover table is, as SQL over a system.tables row: the one definition, read by
  orphan_tables_query (so by `refill cleanup` and the finish phase) and by the
  refill_duplicate_keys view, which leaves them out. A backup is known by its marker
  (_backup_marker_sql, in backups.sql beside the macro that writes it).
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#-
  The kind of a leftover, '' for any other table: 'refill_backup' (marked, see
  _backup_marker_sql), 'refill_stage' (`<model>__refill_stage`, the staging twin of
  _staging_relation), 'dbt_new_data' (`<model>__dbt_new_data_<invocation>`,
  `__dbt_distributed_new_data`), 'dbt_tmp' (`__dbt_tmp`, `__dbt_view_tmp`), 'dbt_backup'.
-#}
{% macro _leftover_kind_sql(name='name', comment='comment') %}
  {{ return("multiIf("
      ~ refill._backup_marker_sql('is_backup', comment) ~ ", 'refill_backup', "
      ~ "endsWith(" ~ name ~ ", '__refill_stage'), 'refill_stage', "
      ~ "match(" ~ name ~ ", '__dbt_(distributed_)?new_data(_[A-Za-z0-9_]+)?$'), 'dbt_new_data', "
      ~ "match(" ~ name ~ ", '__dbt_(view_)?tmp$'), 'dbt_tmp', "
      ~ "endsWith(" ~ name ~ ", '__dbt_backup'), 'dbt_backup', "
      ~ "'')") }}
{% endmacro %}

{#-
  The table a leftover of `kind` (an SQL expression) belongs to: a backup's source table
  (from its marker), else the name before the last marker, so a model whose own name holds
  a marker (`fct__dbt_tmp_x`) owns `fct__dbt_tmp_x__dbt_backup`.
-#}
{% macro _leftover_model_sql(kind, name='name', comment='comment') %}
  {{ return("if(" ~ kind ~ " = 'refill_backup', " ~ refill._backup_marker_sql('source_table', comment)
      ~ ", extract(" ~ name ~ ", '^(.*)__(?:refill_stage$|dbt_)'))") }}
{% endmacro %}
