{#-
  The month rewrite of a materialized view's target table. The orchestrator switches a
  dbt-clickhouse `materialized_view` model to this materialization (in memory, for one
  invocation) with `start_month`/`end_month` set, after the models the view reads are
  repaired.

  Why: a ClickHouse materialized view is an insert trigger. The cohort's month swap
  (REPLACE PARTITION) inserts nothing, so the trigger never sees the corrected month, and
  `dbt run` of an existing view only re-issues ALTER … MODIFY QUERY; a re-pull with
  delete+insert fires the trigger with the window's rows a second time. The target's
  months are recomputed instead from the model's SQL (the view's SELECT, every view of the
  model together: what dbt-clickhouse's catch-up inserts into a new target, i.e. the
  from-scratch build), kept to the window months by the target's own partition key (the
  same definition of "the rows of month M" as the swap), written into a staging twin
  built like the target, and swapped in with swap_months: atomic per partition, a month
  the recompute leaves empty is emptied. The orchestrator sends here only views whose
  SELECT files every row under the month of the source rows it reads (refill.mv_targets),
  so the other months of a from-scratch build are what the target already holds.

  The view itself is left alone and keeps firing on new inserts: a row it adds to a window
  month between the staging build and the swap is replaced by the swap, so, like the
  rest of a refill, this runs while the project's own loads are paused.
-#}
{% materialization refill_mv_swap, adapter='clickhouse' %}
  {%- set start_month = var('start_month', none) -%}
  {%- set end_month = var('end_month', none) or start_month -%}
  {%- if not start_month -%}
    {{ exceptions.raise_compiler_error("refill_mv_swap needs var start_month (YYYY-MM-01); model " ~ this) }}
  {%- endif -%}
  {%- set window_start = refill._month_start(start_month, 'start_month') -%}
  {%- set window_end = refill._month_start(end_month, 'end_month') -%}
  {%- set months = refill._months_between(window_start, window_end) -%}

  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- if existing_relation is none -%}
    {{ exceptions.raise_compiler_error("refill: the target table " ~ this ~ " of materialized view model " ~ model.name
        ~ " does not exist: build it with dbt first; nothing was written") }}
  {%- endif -%}
  {%- set key = refill._partition_months(this.schema, this.identifier) -%}
  {%- if key is none or key.problem -%}
    {{ exceptions.raise_compiler_error("refill: " ~ this ~ ": " ~ (key.problem if key else 'no such table')
        ~ "; its months cannot be rewritten") }}
  {%- endif -%}
  {%- set month_values = [] -%}
  {%- for month in months -%}{%- do month_values.append("toDate('" ~ month ~ "')") -%}{%- endfor -%}
  {%- set staging_relation = refill._staging_relation(this) -%}

  {{ drop_relation_if_exists(load_cached_relation(staging_relation)) }}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {#- new lines around the model's SQL: it may end in a line comment (a view's `--name:end` marker) -#}
  {%- set month_sql = "SELECT * FROM (\n" ~ sql ~ "\n) WHERE " ~ key.row_month ~ " IN (" ~ month_values | join(', ') ~ ")" -%}
  {% call statement('main') %}
    {{ get_create_table_as_sql(False, staging_relation, month_sql) }}
  {% endcall %}

  {% do refill._require_swappable_columns(staging_relation, target_relation) %}
  {% do refill.swap_months(staging_relation, target_relation, window_start, window_end) %}
  {% do adapter.drop_relation(staging_relation) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do adapter.commit() %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
