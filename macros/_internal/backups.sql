{#-
  Backup twins: their marker comment, engine, state and creation.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#-
  The comment that marks a backup twin and records which months it holds. A month with
  no rows in the source at backup time is recorded too: restoring it must leave the
  month empty, and only this record tells it apart from a month never backed up.
-#}
{% macro _backup_comment(table_name, suffix, months) %}
  {{ return('refill backup of ' ~ table_name ~ '; suffix=' ~ suffix ~ '; months=' ~ months | sort | join(',')) }}
{% endmacro %}

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
  The storage of a backup twin, or none when `CREATE TABLE twin AS table` alone is right.

  A Replicated* table keeps its replication path in its metadata with {database},
  {table} and {uuid} already unfolded, so a twin created AS it would register as a
  second replica of the same path: refused with REPLICA_ALREADY_EXISTS at best, and a
  twin sharing the original's parts at worst. The twin gets the same storage with
  `/refill_backup_<suffix>` appended to the path ({shard}/{replica} stay macros, so each
  replica of each shard still expands its own). Shared* (ClickHouse Cloud) and plain
  MergeTree engines have no path to collide on.
-#}
{% macro _backup_engine(engine_full, suffix) %}
  {%- set found = modules.re.match("^(Replicated[A-Za-z]*MergeTree)\\('((?:[^'\\\\]|\\\\.)*)'(.*)$", engine_full or '', modules.re.S) -%}
  {%- if not found -%}{{ return(none) }}{%- endif -%}
  {{ return(found.group(1) ~ "('" ~ found.group(2) ~ "/refill_backup_" ~ suffix ~ "'" ~ found.group(3)) }}
{% endmacro %}

{#-
  {backup table name: {'exists', 'marked', 'months'}} for the backups of `tables` with
  `suffix`: whether a table of that name exists, whether its comment marks it as a
  refill backup, and the months it records.
-#}
{% macro _backup_state(database, tables, suffix) %}
  {%- set names = {} -%}
  {%- for table in tables -%}{%- do names.update({refill.backup_table_name(table, suffix): table}) -%}{%- endfor -%}
  {%- set result = run_query(
      "SELECT DISTINCT name, " ~ refill._backup_marker_sql('is_backup') ~ " AS marked, "
      ~ refill._backup_marker_sql('months') ~ " AS months FROM " ~ refill._system_table('tables')
      ~ " WHERE database = " ~ refill._string_literal(database) ~ " AND name IN (" ~ refill._literal_list(names.keys() | list) ~ ")") -%}
  {%- set state = {} -%}
  {%- for name in names -%}{%- do state.update({name: {'exists': false, 'marked': false, 'months': []}}) -%}{%- endfor -%}
  {%- for row in result.rows -%}
    {%- set months = (row['months'] or '').split(',') | reject('equalto', '') | list -%}
    {%- do state.update({row['name']: {'exists': true, 'marked': (row['marked'] | int) == 1, 'months': months}}) -%}
  {%- endfor -%}
  {{ return(state) }}
{% endmacro %}

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
