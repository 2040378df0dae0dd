{#- Minimal working version; hardened in the macros issue. -#}
{% macro refill_safe_pre_hook() %}
  {{ return(adapter.dispatch('refill_safe_pre_hook', 'refill')()) }}
{% endmacro %}

{% macro default__refill_safe_pre_hook() %}
  {%- set max_memory = var('refill_max_memory_usage', 8589934592) -%}
  {%- set spill = var('refill_max_bytes_before_external', 2147483648) -%}
  {{ return("SET max_memory_usage = " ~ max_memory
      ~ ", max_bytes_before_external_group_by = " ~ spill
      ~ ", max_bytes_before_external_sort = " ~ spill
      ~ ", join_algorithm = 'grace_hash'") }}
{% endmacro %}
