{#-
  What a leftover table is, as SQL over a system.tables row: the one definition, read by
  orphan_tables_query (so by `refill cleanup` and the finish phase) and by the
  refill_duplicate_keys view, which leaves them out.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#-
  What the marker comment of a backup twin (_backup_comment) records, as an SQL expression
  over `comment`: 'is_backup', 'source_table', 'suffix' (the run id) or 'months'
  (comma-separated). A backup is known by this marker, never by its name: a project may
  name its backups otherwise (backup_table_name is dispatched).
-#}
{% macro _backup_marker_sql(field, comment='comment') %}
  {%- set fields = {
      'is_backup': "startsWith(" ~ comment ~ ", 'refill backup of ')",
      'source_table': "extract(" ~ comment ~ ", '^refill backup of (.*); suffix=')",
      'suffix': "extract(" ~ comment ~ ", '; suffix=([A-Za-z0-9_]*);')",
      'months': "extract(" ~ comment ~ ", '; months=([0-9,-]*)$')"} -%}
  {%- if field not in fields -%}
    {{ exceptions.raise_compiler_error("refill: _backup_marker_sql: unknown field '" ~ field ~ "'") }}
  {%- endif -%}
  {{ return(fields[field]) }}
{% endmacro %}

{#-
  The kind of a leftover, '' for any other table: 'refill_backup' (marked, see
  _backup_marker_sql), 'refill_stage' (`<model>__refill_stage`, refill_swap's staging
  twin), 'dbt_new_data' (`<model>__dbt_new_data_<invocation>`,
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
