{#-
  Partitions of the project's tables (every database it writes) holding at least
  var('refill_max_parts_per_partition', 100) active parts: merges are falling behind
  (ClickHouse delays, then refuses inserts into such a partition), and in a
  ReplacingMergeTree every unmerged part may hold duplicates a reader without FINAL
  counts twice. One row per replica on a cluster (replicas merge on their own).
-#}
{{ config(enabled=var('refill_observability', false)) }}
{%- set limit = refill._non_negative_int(var('refill_max_parts_per_partition', 100), 'refill_max_parts_per_partition') -%}
SELECT
    hostName() AS replica,
    database AS database_name,
    table AS table_name,
    partition_id,
    any(partition) AS partition,
    count() AS active_parts,
    sum(rows) AS rows,
    sum(bytes_on_disk) AS bytes_on_disk,
    min(modification_time) AS oldest_part_at
FROM {{ refill._system_table('parts') }}
WHERE active
  AND database IN ({{ refill._literal_list(refill._project_databases()) }})
GROUP BY replica, database_name, table_name, partition_id
HAVING active_parts >= {{ limit }}
