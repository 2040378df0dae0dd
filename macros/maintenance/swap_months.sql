{% macro swap_months(staging_relation, target_relation, window_start, window_end) %}
  {{ return(adapter.dispatch('swap_months', 'refill')(staging_relation, target_relation, window_start, window_end)) }}
{% endmacro %}

{#-
  Replace every partition of `target_relation` that holds a month in
  [window_start, window_end] with the same partition of `staging_relation`.
  Partitions come from system.parts (min/max of the partition key's date column), so no
  column name is needed. A target partition the staging table does not have is replaced
  by nothing: its keys no longer exist in the recompute.
-#}
{% macro default__swap_months(staging_relation, target_relation, window_start, window_end) %}
  {%- set window_start = refill._month_start(window_start, 'window_start') -%}
  {%- set window_end = refill._month_start(window_end, 'window_end') -%}
  {%- if window_end < window_start -%}
    {{ exceptions.raise_compiler_error("refill: swap_months window_end " ~ window_end ~ " is before window_start " ~ window_start) }}
  {%- endif -%}
  {%- set parts_sql -%}
    SELECT DISTINCT partition_id
    FROM {{ refill._system_table('parts') }}
    WHERE active
      AND database = {{ refill._string_literal(target_relation.schema) }}
      AND table IN ({{ refill._string_literal(target_relation.identifier) }}, {{ refill._string_literal(staging_relation.identifier) }})
      AND toStartOfMonth(if(min_date > toDate(0), min_date, toDate(min_time)))
          BETWEEN toDate('{{ window_start }}') AND toDate('{{ window_end }}')
    ORDER BY partition_id
  {%- endset -%}
  {#- rows, not columns[0]: an empty result may come back without columns -#}
  {%- set partition_ids = [] -%}
  {%- for row in run_query(parts_sql).rows -%}{%- do partition_ids.append(row[0]) -%}{%- endfor -%}
  {%- if partition_ids | length == 0 -%}{{ return(0) }}{%- endif -%}
  {%- call statement('refill_swap_months') -%}
    {#- REPLACE PARTITION, or DROP + ATTACH on servers whose REPLACE lets the old parts
        come back after a restart: why in _replace_partition_clauses -#}
    ALTER TABLE {{ target_relation }} {{ on_cluster_clause(target_relation) }}
      {{ refill._replace_partition_clauses(partition_ids, staging_relation) }}
    {{ refill._partition_write_settings() }}
  {%- endcall -%}
  {{ return(partition_ids | length) }}
{% endmacro %}
