{#-
  Partitions of the recent var('refill_observability_months', 3) months where a
  ReplacingMergeTree of the target schema holds a sorting key more than once: rows a
  reader without FINAL counts twice (the seed's append before its OPTIMIZE, or a merge
  that has not happened). Physical rows are counted, not FINAL: the unmerged duplicates
  are the point. It scans those months of every such table on each query, so query it
  on demand or from an alert, not from a dashboard.

  The table list is read when the view is built: `dbt run` it again after adding a
  model. refill's and dbt's temporary tables are left out (see refill_orphan_tables).
  On a cluster each shard is checked on its own (cluster() reads one replica per shard).
-#}
{{ config(enabled=var('refill_observability', false)) }}
{%- set months = refill._non_negative_int(var('refill_observability_months', 3), 'refill_observability_months') -%}
{%- set database = target.schema -%}
{%- set cluster = refill._cluster() -%}
{%- set selects = [] -%}
{%- if execute -%}
  {%- set found = run_query(
      "SELECT name, any(sorting_key) FROM " ~ refill._system_table('tables')
      ~ " WHERE database = " ~ refill._string_literal(database)
      ~ " AND engine LIKE '%ReplacingMergeTree' AND sorting_key != ''"
      ~ " AND " ~ refill._leftover_kind_sql() ~ " = ''"
      ~ " GROUP BY name ORDER BY name") -%}
  {%- for row in found.rows -%}
    {#- a key refill cannot place in months (by year, by week, unpartitioned): every
        partition is scanned, a superset of the recent months -#}
    {%- set key = refill._partition_months(database, row[0]) -%}
    {%- set recent = (" AND " ~ key.part_month ~ " >= addMonths(toStartOfMonth(today()), -" ~ [months - 1, 0] | max ~ ")")
        if key is not none and not key.problem else "" -%}
    {%- set source = refill._table(database, row[0]) -%}
    {%- if cluster -%}{%- set source = 'cluster(' ~ refill._string_literal(cluster) ~ ', ' ~ source ~ ')' -%}{%- endif -%}
    {%- do selects.append(
        "SELECT " ~ refill._string_literal(row[0]) ~ " AS table_name, "
        ~ ("_shard_num" if cluster else "toUInt32(0)") ~ " AS shard_num, "
        ~ "_partition_id AS partition_id, toUInt64(count()) AS rows, toUInt64(uniqExact(" ~ row[1] ~ ")) AS keys, "
        ~ "toInt64(rows) - toInt64(keys) AS duplicate_rows "
        ~ "FROM " ~ source ~ " WHERE _partition_id IN ("
        ~ "SELECT partition_id FROM " ~ refill._system_table('parts')
        ~ " WHERE active AND database = " ~ refill._string_literal(database)
        ~ " AND table = " ~ refill._string_literal(row[0]) ~ recent ~ ") "
        ~ "GROUP BY " ~ ("_shard_num, " if cluster else "") ~ "_partition_id HAVING rows != keys") -%}
  {%- endfor -%}
{%- endif -%}
{%- if selects -%}
{{ selects | join('\nUNION ALL\n') }}
{%- else -%}
SELECT '' AS table_name, toUInt32(0) AS shard_num, '' AS partition_id, toUInt64(0) AS rows,
       toUInt64(0) AS keys, toInt64(0) AS duplicate_rows
WHERE 0
{%- endif %}
