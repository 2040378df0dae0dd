{#-
  Tables as the catalog (system.tables, system.columns) knows them, their DDL, refill's
  staging twin, and which tables are leftovers: what a leftover table is, as SQL over a
  system.tables row, is defined here once, read by orphan_tables_query (so by `refill
  cleanup` and the finish phase) and by the refill_duplicate_keys view, which leaves them
  out. A backup is known by its marker (_backup_marker_sql, in backups.sql beside the macro
  that writes it).
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#-
  Every ClickHouse database the project writes: the target schema and the schema of each
  model, seed and snapshot in the graph (a custom schema='x' lands in `<target schema>_x`),
  sorted. Empty of custom schemas while dbt parses (the graph is only there at execution).
-#}
{% macro _project_databases() %}
  {%- set databases = [target.schema] -%}
  {%- if execute -%}
    {%- for node in graph.nodes.values() -%}
      {%- if node.resource_type in ('model', 'seed', 'snapshot') and node.config.materialized != 'ephemeral'
            and node.schema and node.schema not in databases -%}
        {%- do databases.append(node.schema) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(databases | sort) }}
{% endmacro %}

{#- A compiler error naming the first of `tables` that does not exist in `database`. -#}
{% macro _require_tables(database, tables) %}
  {%- set result = run_query(
      "SELECT DISTINCT name FROM " ~ refill._system_table('tables') ~ " WHERE database = " ~ refill._string_literal(database)
      ~ " AND name IN (" ~ refill._literal_list(tables) ~ ")") -%}
  {#- rows, not columns[0]: an empty result may come back without columns -#}
  {%- set existing = [] -%}
  {%- for row in result.rows -%}{%- do existing.append(row[0]) -%}{%- endfor -%}
  {%- for table in tables -%}
    {%- if table not in existing -%}
      {{ exceptions.raise_compiler_error("refill: table " ~ refill._table(database, table) ~ " does not exist") }}
    {%- endif -%}
  {%- endfor -%}
{% endmacro %}

{#-
  {table: sorting key expression} from system.tables; a compiler error for a table that
  does not exist or has no sorting key (duplicates cannot be defined without one).
-#}
{% macro _sorting_keys(database, tables) %}
  {%- set result = run_query(
      "SELECT DISTINCT name, sorting_key FROM " ~ refill._system_table('tables') ~ " WHERE database = " ~ refill._string_literal(database)
      ~ " AND name IN (" ~ refill._literal_list(tables) ~ ")") -%}
  {%- set keys = {} -%}
  {%- for row in result.rows -%}{%- do keys.update({row[0]: row[1]}) -%}{%- endfor -%}
  {%- for table in tables -%}
    {%- if table not in keys -%}
      {{ exceptions.raise_compiler_error("refill: table " ~ refill._table(database, table) ~ " does not exist") }}
    {%- elif (keys[table] or '') | trim == '' -%}
      {{ exceptions.raise_compiler_error("refill: table " ~ refill._table(database, table) ~ " has no sorting key (ORDER BY tuple()), so duplicate keys cannot be checked") }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(keys) }}
{% endmacro %}

{#-
  REPLACE PARTITION needs the staging table and the target to hold the same columns with
  the same types (in any order); otherwise it fails with Code 122, in the middle of Phase 1.
  Preflight compares every cohort model with its table before anything is written (and
  applies on_schema_change); a difference found here was missed there: fail before any
  partition moves, naming the columns.
-#}
{% macro _require_swappable_columns(staging_relation, target_relation) %}
  {%- set differing_sql -%}
    SELECT name, arrayStringConcat(arraySort(groupUniqArray(concat(table, ': ', type))), ', ')
    FROM {{ refill._system_table('columns') }}
    WHERE database = {{ refill._string_literal(target_relation.schema) }}
      AND table IN ({{ refill._string_literal(target_relation.identifier) }}, {{ refill._string_literal(staging_relation.identifier) }})
    GROUP BY name
    HAVING uniqExact(table) != 2 OR uniqExact(type) != 1
    ORDER BY name
  {%- endset -%}
  {%- set differing = [] -%}
  {%- for row in run_query(differing_sql).rows -%}
    {%- do differing.append(row[0] ~ ' (' ~ row[1] ~ ')') -%}
  {%- endfor -%}
  {%- if differing | length > 0 -%}
    {{ exceptions.raise_compiler_error("refill: " ~ target_relation ~ ": the month recompute's columns differ from the table's, so its months cannot be swapped: " ~ differing | join('; ') ~ ". Check on_schema_change, or migrate the table first.") }}
  {%- endif -%}
{% endmacro %}

{#- ALTER TABLE … MODIFY COMMENT, on every replica. -#}
{% macro _comment_sql(database, table_name, comment) %}
  {{ return('ALTER TABLE ' ~ refill._table(database, table_name) ~ refill._on_cluster()
      ~ ' MODIFY COMMENT ' ~ refill._string_literal(comment) ~ ' SETTINGS alter_sync = 2') }}
{% endmacro %}

{#- DROP TABLE IF EXISTS … SYNC: gone when the statement returns, not later (Atomic databases delay drops). -#}
{% macro _drop_table_sql(database, table_name) %}
  {{ return('DROP TABLE IF EXISTS ' ~ refill._table(database, table_name) ~ refill._on_cluster() ~ ' SYNC') }}
{% endmacro %}

{#-
  The staging twin refill_swap and refill_mv_swap write a month into before the swap:
  `<identifier>__refill_stage`, in the relation's database. A crashed write leaves it
  behind, and _leftover_kind_sql knows it by this suffix.
-#}
{% macro _staging_relation(relation) %}
  {{ return(relation.incorporate(path={"identifier": relation.identifier ~ '__refill_stage'}, type='table')) }}
{% endmacro %}

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
