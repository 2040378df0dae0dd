{#-
  Writing partitions: copy, replace and OPTIMIZE, each checked afterwards.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#-
  Whether the server's REPLACE PARTITION covers the parts it replaces (26.6 on: see _replace_partition_clauses).
  dbt-clickhouse answers False when no connection is open (the version is unknown): then
  the DROP + ATTACH form is used, which is restart-safe on every version (26.9 tested too).
-#}
{% macro _replace_partition_is_restart_safe() %}
  {{ return(adapter.is_at_or_after_version('26.6')) }}
{% endmacro %}

{#-
  How refill puts a partition of one table in place of the same partition of another:
  the cohort swap (swap_months), the backup copy and the restore all go through
  _replace_partition_clauses, so the reasons below hold for every one of them.

  ClickHouse 26.6 and later: REPLACE PARTITION. It is atomic per partition (a reader sees
  the old parts or the new ones, never both), and it commits an empty part covering the
  replaced block range, so the old parts stay dead when the server restarts.

  Before 26.6 (measured on 25.8 LTS): REPLACE PARTITION only marks the old parts outdated,
  and nothing covers their block range. They stay on disk until the cleanup thread
  deletes them: seconds later, or, while a query is still reading them, until it ends. A
  crash or restart before that loads them as active again, beside the new parts: the
  month doubles, and a month replaced by nothing comes back. Deleting them right after
  the REPLACE does not close the hole (a running query keeps its parts; tested). DROP
  PARTITION is safe: it commits the same empty covering part 26.6's REPLACE does, so
  whatever survives of the old parts is covered when the table loads. So on these
  servers a partition is swapped with DROP PARTITION then ATTACH PARTITION … FROM, in one
  ALTER. The price is atomicity: between the two commands (the time it takes to hard-link
  the new parts) a reader can see the partition empty; never doubled, never mixed. A
  moment of an empty month is better than a doubled one that outlives a restart. An
  ATTACH from a source without the partition adds nothing, so a partition the source
  lacks ends up absent, as REPLACE makes it.
-#}
{% macro _replace_partition_clauses(partition_ids, source) %}
  {%- set clauses = [] -%}
  {%- for partition_id in partition_ids -%}
    {%- set partition = 'PARTITION ID ' ~ refill._string_literal(partition_id) -%}
    {%- if refill._replace_partition_is_restart_safe() -%}
      {%- do clauses.append('REPLACE ' ~ partition ~ ' FROM ' ~ source) -%}
    {%- else -%}
      {%- do clauses.append('DROP ' ~ partition) -%}
      {%- do clauses.append('ATTACH ' ~ partition ~ ' FROM ' ~ source) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(clauses | join(', ')) }}
{% endmacro %}

{#-
  SETTINGS for partition copies and replaces. alter_sync = 2 waits for every replica
  (3 did not wait on Replicated tables before ClickHouse 26.10). From 26.6 on, REPLACE
  PARTITION from a source without that partition is refused unless allowed; refill
  means it: the partition is absent in the source, so it must become absent here. Older
  servers do not know that setting (Code 115, unknown setting), and refill does not send
  them a REPLACE (see _replace_partition_clauses): it goes with the same version test.
-#}
{% macro _partition_write_settings() %}
  {%- set settings = ['alter_sync = 2'] -%}
  {%- if refill._replace_partition_is_restart_safe() -%}
    {%- do settings.append('allow_replace_partition_from_empty_source = 1') -%}
  {%- endif -%}
  {{ return('SETTINGS ' ~ settings | join(', ')) }}
{% endmacro %}

{#- ALTER TABLE target … FROM source for every id, in one statement (how: _replace_partition_clauses). -#}
{% macro _replace_partitions_sql(database, target_table, source_table, partition_ids) %}
  {{ return('ALTER TABLE ' ~ refill._table(database, target_table) ~ refill._on_cluster() ~ ' '
      ~ refill._replace_partition_clauses(partition_ids, refill._table(database, source_table)) ~ ' '
      ~ refill._partition_write_settings()) }}
{% endmacro %}

{#-
  Rows (replica, partition_id, rows in a, rows in b) for the ids whose row counts differ
  between two tables. Compared replica by replica: replicas merge at different times,
  so their part lists differ even when their rows do not.
-#}
{% macro _partition_counts_sql(database, table_a, table_b, partition_ids) %}
  {%- set query -%}
    SELECT
        hostName() AS replica,
        partition_id,
        sumIf(rows, table = {{ refill._string_literal(table_a) }}) AS a,
        sumIf(rows, table = {{ refill._string_literal(table_b) }}) AS b
    FROM {{ refill._system_table('parts') }}
    WHERE active
      AND database = {{ refill._string_literal(database) }}
      AND table IN ({{ refill._literal_list([table_a, table_b]) }})
      AND partition_id IN ({{ refill._literal_list(partition_ids) }})
    GROUP BY replica, partition_id
    HAVING a != b
    ORDER BY partition_id, replica
  {%- endset -%}
  {{ return(query) }}
{% endmacro %}

{#-
  [(partition_id, rows in a, rows in b)] for the ids whose row counts differ between two
  tables of a database: the check after every copy (a copy that silently moved nothing
  would otherwise look like success).
-#}
{% macro _partition_counts_differ(database, table_a, table_b, partition_ids) %}
  {%- if partition_ids | length == 0 -%}{{ return([]) }}{%- endif -%}
  {%- set differ = [] -%}
  {%- for row in run_query(refill._partition_counts_sql(database, table_a, table_b, partition_ids)).rows -%}
    {%- do differ.append((row[1], row[2], row[3])) -%}
  {%- endfor -%}
  {{ return(differ) }}
{% endmacro %}

{#- The OPTIMIZE statement of one partition (see optimize_partitions_final for the settings). -#}
{% macro _optimize_sql(database, table_name, partition_id) %}
  {{ return('OPTIMIZE TABLE ' ~ refill._table(database, table_name) ~ refill._on_cluster()
      ~ ' PARTITION ID ' ~ refill._string_literal(partition_id)
      ~ ' FINAL DEDUPLICATE SETTINGS optimize_throw_if_noop = 1, alter_sync = 2') }}
{% endmacro %}

{#-
  Puts the partitions of `from_table` holding `months` in place of the same partitions of
  `to_table` (both in `database`): the copy of a backup and of a restore. Which partitions:
  month_partitions_query over both tables, so a month the source lacks is emptied; rows of
  the months outside them fail before anything moves (_check_month_partitions; `action`,
  'backed up' or 'restored', says what was then not done). Checked row for row per
  partition afterwards. Returns the partition ids, sorted.
-#}
{% macro _copy_month_partitions(database, from_table, to_table, months, action) %}
  {%- set ids = [] -%}
  {%- for row in run_query(refill.month_partitions_query(database, [to_table, from_table], months)).rows -%}
    {%- if row['partition_id'] not in ids -%}{%- do ids.append(row['partition_id']) -%}{%- endif -%}
  {%- endfor -%}
  {%- do refill._check_month_partitions(database, [to_table, from_table], months, ids, action) -%}
  {%- if ids -%}
    {%- do run_query(refill._replace_partitions_sql(database, to_table, from_table, ids)) -%}
    {%- set differ = refill._partition_counts_differ(database, from_table, to_table, ids) -%}
    {%- if differ -%}
      {{ exceptions.raise_compiler_error("refill: " ~ refill._table(database, to_table) ~ " does not match "
          ~ refill._table(database, from_table) ~ " after its months were " ~ action ~ " (partition, rows in "
          ~ from_table ~ ", rows in " ~ to_table ~ "): " ~ differ) }}
    {%- endif -%}
  {%- endif -%}
  {{ return(ids | sort) }}
{% endmacro %}
