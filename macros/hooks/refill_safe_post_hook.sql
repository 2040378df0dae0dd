{#- Minimal working version; hardened in the macros issue. -#}
{% macro refill_safe_post_hook() %}
  {{ return(adapter.dispatch('refill_safe_post_hook', 'refill')()) }}
{% endmacro %}

{% macro default__refill_safe_post_hook() %}
  {{ return("SET max_memory_usage = DEFAULT, max_bytes_before_external_group_by = DEFAULT, max_bytes_before_external_sort = DEFAULT, join_algorithm = DEFAULT") }}
{% endmacro %}
