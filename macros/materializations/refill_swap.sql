{#-
  The cohort write of a refill. The orchestrator switches a cohort model to this
  materialization (in memory, for one invocation) with `start_month`/`end_month` set.

  Why not the seed's append + OPTIMIZE: between the append and the merge every reader
  without FINAL sees the month twice, an aggregator that runs in that window bakes the
  double in, and a key whose corrected state is "no row" survives any OPTIMIZE.
  Instead the month is computed into a staging twin (same engine, keys and partitioning,
  built from the model's own config, SQL and hooks) and each window month is swapped in
  with REPLACE PARTITION, which is atomic per partition: readers see the old month or the
  new one, a month whose recompute is empty is emptied, and a crashed write leaves only a
  staging table behind, never partial rows in the target. (Before ClickHouse 26.6 the
  swap is DROP + ATTACH instead, which a restart cannot undo: see
  _replace_partition_clauses.)

  The model is compiled as the seed's append compiled it: is_incremental() true and
  {{ this }} the live table, whose earlier months the refill has already made final
  (months run oldest first), so a model that carries its state forward from {{ this }}
  (balances, cumulative sums) starts the month from the corrected state. The orchestrator
  keeps an incremental model's materialized='incremental' and routes that materialization
  here (python/refill/phases/cohort.py says why). apply_monthly_incremental_filter returns
  the whole window months under start_month, never a day lookback, so the staging table
  never holds a slice of a month it replaces. With no table yet, is_incremental() is false
  and the model builds from scratch, renamed into place.
-#}
{% materialization refill_swap, adapter='clickhouse' %}
  {%- set start_month = var('start_month', none) -%}
  {%- set end_month = var('end_month', none) or start_month -%}
  {%- if not start_month -%}
    {{ exceptions.raise_compiler_error("refill_swap needs var start_month (YYYY-MM-01); model " ~ this) }}
  {%- endif -%}
  {%- set window_start = refill._month_start(start_month, 'start_month') -%}
  {%- set window_end = refill._month_start(end_month, 'end_month') -%}

  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set staging_relation = refill._staging_relation(this) -%}

  {{ drop_relation_if_exists(load_cached_relation(staging_relation)) }}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') %}
    {{ get_create_table_as_sql(False, staging_relation, sql) }}
  {% endcall %}

  {% if existing_relation is none %}
    {% do adapter.rename_relation(staging_relation, target_relation) %}
  {% else %}
    {% do refill._require_swappable_columns(staging_relation, target_relation) %}
    {#- write-audit-publish: an unexplained diff raises here, before anything is swapped -#}
    {% do refill.audit_month(staging_relation, target_relation, window_start, window_end) %}
    {% do refill.swap_months(staging_relation, target_relation, window_start, window_end) %}
    {% do adapter.drop_relation(staging_relation) %}
  {% endif %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do adapter.commit() %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
