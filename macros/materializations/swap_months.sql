{% macro swap_months(staging_relation, target_relation, window_start, window_end) %}
  {{ return(adapter.dispatch('swap_months', 'refill')(staging_relation, target_relation, window_start, window_end)) }}
{% endmacro %}

{#-
  Replace every partition of `target_relation` that holds a month in
  [window_start, window_end] with the same partition of `staging_relation`.
  Which partitions hold a month comes from the partition key (month_partitions_query),
  so no column name is needed. A target partition the staging table does not have is
  replaced by nothing: its keys no longer exist in the recompute.

  Staging rows that would not be swapped are an error, not a quiet 0: rows staged while
  no staging partition holds a window month (the model wrote other months, or its
  partitions were not recognised), or rows of a window month outside the partitions
  found for it, in either table. Nothing is swapped then.
-#}
{% macro default__swap_months(staging_relation, target_relation, window_start, window_end) %}
  {%- set window_start = refill._month_start(window_start, 'window_start') -%}
  {%- set window_end = refill._month_start(window_end, 'window_end') -%}
  {%- if window_end < window_start -%}
    {{ exceptions.raise_compiler_error("refill: swap_months window_end " ~ window_end ~ " is before window_start " ~ window_start) }}
  {%- endif -%}
  {%- set months = refill._months_between(window_start, window_end) -%}
  {%- set database = target_relation.schema -%}
  {%- set partition_ids = [] -%}
  {%- set staged = namespace(partitions=0) -%}
  {%- for row in run_query(refill.month_partitions_query(database, [target_relation.identifier, staging_relation.identifier], months)).rows -%}
    {%- if row['partition_id'] not in partition_ids -%}{%- do partition_ids.append(row['partition_id']) -%}{%- endif -%}
    {%- if row['table_name'] == staging_relation.identifier -%}{%- set staged.partitions = staged.partitions + 1 -%}{%- endif -%}
  {%- endfor -%}
  {%- set partition_ids = partition_ids | sort -%}
  {%- set staged_rows = run_query("SELECT count() FROM " ~ staging_relation).rows[0][0] | int -%}
  {%- if staged_rows > 0 and staged.partitions == 0 -%}
    {{ exceptions.raise_compiler_error("refill: " ~ staging_relation ~ " staged " ~ staged_rows ~ " row(s) for "
        ~ target_relation ~ " but none in a partition of months " ~ months | join(', ') ~ ": the model wrote other months, "
        ~ "or its partitions are not filed under months; nothing was swapped") }}
  {%- endif -%}
  {%- do refill._check_month_partitions(database, [staging_relation.identifier, target_relation.identifier], months, partition_ids, 'swapped') -%}
  {%- if partition_ids | length == 0 -%}{{ return(0) }}{%- endif -%}
  {%- call statement('refill_swap_months') -%}
    {#- The statement backup and restore issue too (REPLACE PARTITION, or DROP + ATTACH on
        servers whose REPLACE lets the old parts come back after a restart), with the
        package's one ON CLUSTER rule: not dbt-clickhouse's per-relation one, which a
        relation from api.Relation.create or a model's disable_on_cluster turns off while
        the same table's backup and restore still run on every replica. -#}
    {{ refill._replace_partitions_sql(database, target_relation.identifier, staging_relation.identifier, partition_ids) }}
  {%- endcall -%}
  {{ return(partition_ids | length) }}
{% endmacro %}
