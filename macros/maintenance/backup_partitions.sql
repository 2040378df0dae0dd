{% macro backup_partitions(database, tables, partitions, suffix, overwrite=false) %}
  {{ return(adapter.dispatch('backup_partitions', 'refill')(database, tables, partitions, suffix, overwrite)) }}
{% endmacro %}

{#-
  Copies the partitions holding `partitions` (months) of each table into its backup
  twin `<table>__refill_backup_<suffix>` (same structure: CREATE TABLE … AS; a
  Replicated table's twin gets a replication path of its own), so a bad
  refill can be rolled back with restore_partitions. The copy hard-links parts, so it
  is cheap and leaves the table untouched.

  Write-once per month: a month the twin already holds is not copied again unless
  overwrite=true. Re-running a refill (say after a crash) must not replace the good
  copy with the half-refilled month. Each copy is a REPLACE PARTITION (never ATTACH
  PARTITION FROM, which would add the rows a second time) and is checked row for row
  per partition against the source. Returns the number of partitions copied.

  The partitions of a month come from the partition key (month_partitions_query): daily
  partitions are copied with their month; a key coarser than a month is refused. Rows of
  a month outside the partitions found for it fail the copy before anything is copied.
-#}
{% macro default__backup_partitions(database, tables, partitions, suffix, overwrite=false) %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- set months = refill._month_list(partitions, 'partitions') -%}
  {%- for table in tables -%}{%- do refill.backup_table_name(table, suffix) -%}{%- endfor -%}
  {%- if not execute -%}{{ return(0) }}{%- endif -%}

  {%- do refill._require_tables(database, tables) -%}
  {#- rendering it refuses a key whose partitions are not months, before any twin is created -#}
  {%- do refill.month_partitions_query(database, tables, months) -%}
  {%- set state = refill._backup_state(database, tables, suffix) -%}
  {%- set copied = namespace(partitions=0) -%}
  {%- for table in tables -%}
    {%- set backup = refill.backup_table_name(table, suffix) -%}
    {%- if state[backup].exists and not state[backup].marked -%}
      {{ exceptions.raise_compiler_error("refill: " ~ refill._table(database, backup) ~ " exists and is not a refill backup; choose another suffix") }}
    {%- endif -%}
    {%- set held = state[backup].months -%}
    {%- set todo = [] -%}
    {%- for month in months -%}
      {%- if overwrite or month not in held -%}{%- do todo.append(month) -%}{%- endif -%}
    {%- endfor -%}
    {%- if todo | length == 0 -%}
      {%- do log("refill: " ~ refill._table(database, backup) ~ " already holds " ~ months | join(', ') ~ "; kept", info=true) -%}
    {%- else -%}
      {%- if not state[backup].exists -%}
        {%- set engine_full = run_query("SELECT any(engine_full) FROM " ~ refill._system_table('tables')
            ~ " WHERE database = " ~ refill._string_literal(database) ~ " AND name = " ~ refill._string_literal(table)).rows[0][0] -%}
        {%- do run_query(refill._create_backup_sql(database, table, backup, refill._backup_comment(table, suffix, []),
            refill._backup_engine(engine_full, suffix))) -%}
      {%- endif -%}
      {#- The twin's own partitions of these months are replaced too: with overwrite, a
          month that became empty in the source must become empty in the backup. -#}
      {%- set ids = refill._copy_month_partitions(database, table, backup, todo, 'backed up') -%}
      {%- set recorded = held | list -%}
      {%- for month in todo -%}{%- if month not in recorded -%}{%- do recorded.append(month) -%}{%- endif -%}{%- endfor -%}
      {%- do run_query(refill._comment_sql(database, backup, refill._backup_comment(table, suffix, recorded))) -%}
      {%- set copied.partitions = copied.partitions + ids | length -%}
      {%- do log("refill: backed up " ~ refill._table(database, table) ~ " months " ~ todo | join(', ') ~ " (" ~ ids | length ~ " partition(s)) into " ~ refill._table(database, backup), info=true) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(copied.partitions) }}
{% endmacro %}
