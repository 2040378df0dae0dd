{% macro optimize_partitions_final(database, tables, partitions, if_missing='error') %}
  {{ return(adapter.dispatch('optimize_partitions_final', 'refill')(database, tables, partitions, if_missing)) }}
{% endmacro %}

{#-
  OPTIMIZE … PARTITION … FINAL DEDUPLICATE as a verified barrier, for every month of
  every table in one invocation.

  A bare OPTIMIZE proves nothing: for a partition that does not exist it is a silent
  no-op, a merge it cannot assign is skipped silently unless optimize_throw_if_noop is
  set, and on a replicated table it returns before the other replicas merged unless
  alter_sync waits. So: the months are resolved to partition ids first and a month no
  partition holds fails the invocation before anything runs (or is skipped, with
  if_missing='skip'); each OPTIMIZE runs with optimize_throw_if_noop = 1 and
  alter_sync = 2; and afterwards every partition is scanned for duplicate sorting keys,
  failing the invocation if any remain (a plain MergeTree only drops identical rows).
  Returns the number of partitions optimized.
-#}
{% macro default__optimize_partitions_final(database, tables, partitions, if_missing='error') %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- set months = refill._month_list(partitions, 'partitions') -%}
  {%- if if_missing not in ('error', 'skip') -%}
    {{ exceptions.raise_compiler_error("refill: if_missing must be 'error' or 'skip', got '" ~ if_missing ~ "'") }}
  {%- endif -%}
  {%- if not execute -%}{{ return(0) }}{%- endif -%}

  {%- set sorting_keys = refill._sorting_keys(database, tables) -%}
  {%- set found = run_query(refill.month_partitions_query(database, tables, months)) -%}
  {%- set ids = {} -%}
  {%- set held = [] -%}
  {%- for row in found.rows -%}
    {%- if row['partition_id'] not in ids.setdefault(row['table_name'], []) -%}{%- do ids[row['table_name']].append(row['partition_id']) -%}{%- endif -%}
    {%- do held.append(row['table_name'] ~ '|' ~ row['month']) -%}
  {%- endfor -%}
  {%- set missing = [] -%}
  {%- for table in tables -%}
    {%- for month in months -%}
      {%- if (table ~ '|' ~ month) not in held -%}
        {%- do missing.append(refill._table(database, table) ~ ' ' ~ month) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- if missing and if_missing == 'error' -%}
    {{ exceptions.raise_compiler_error("refill: nothing to optimize, no partition holds: " ~ missing | join(', ')
        ~ " (wrong month, or a table not partitioned by a date column?); nothing was run") }}
  {%- endif -%}
  {%- for item in missing -%}
    {%- do log("refill: skip " ~ item ~ " (no partition holds it)", info=true) -%}
  {%- endfor -%}

  {%- set count = namespace(partitions=0) -%}
  {%- for table, partition_ids in ids.items() | sort -%}
    {%- for partition_id in partition_ids -%}
      {%- set statement = refill._optimize_sql(database, table, partition_id) -%}
      {%- do log("refill: " ~ statement, info=true) -%}
      {%- do run_query(statement) -%}
      {%- set count.partitions = count.partitions + 1 -%}
    {%- endfor -%}
  {%- endfor -%}

  {%- set duplicates = run_query(refill._duplicate_keys_sql(database, ids, sorting_keys)) -%}
  {%- if duplicates.rows | length > 0 -%}
    {%- set lines = [] -%}
    {%- for row in duplicates.rows -%}
      {%- do lines.append(refill._table(database, row[0]) ~ " partition " ~ row[1] ~ ": " ~ row[2] ~ " rows, " ~ row[3] ~ " distinct sorting keys") -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("refill: duplicate sorting keys remain after OPTIMIZE FINAL DEDUPLICATE (is the engine a ReplacingMergeTree?): " ~ lines | join('; ')) }}
  {%- endif -%}
  {%- do log("refill: optimized " ~ count.partitions ~ " partition(s) of " ~ ids | length ~ " table(s); no duplicate sorting keys", info=true) -%}
  {{ return(count.partitions) }}
{% endmacro %}
