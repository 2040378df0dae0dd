{% macro refill_safe_settings() %}
  {{ return(adapter.dispatch('refill_safe_settings', 'refill')()) }}
{% endmacro %}

{#- The settings the refill-safe hooks give a model's statements, name -> value, from vars. -#}
{% macro default__refill_safe_settings() %}
  {%- set spill = var('refill_max_bytes_before_external', 2147483648) -%}
  {%- set join_algorithm = var('refill_join_algorithm', 'grace_hash') | string -%}
  {%- if not modules.re.match('^[a-z_]+(,[a-z_]+)*$', join_algorithm) -%}
    {{ exceptions.raise_compiler_error("refill: refill_join_algorithm must be a ClickHouse join_algorithm value such as 'grace_hash', got '" ~ join_algorithm ~ "'") }}
  {%- endif -%}
  {{ return({
      'max_memory_usage': refill._non_negative_int(var('refill_max_memory_usage', 8589934592), 'refill_max_memory_usage'),
      'max_bytes_before_external_group_by': refill._non_negative_int(var('refill_max_bytes_before_external_group_by', spill), 'refill_max_bytes_before_external_group_by'),
      'max_bytes_before_external_sort': refill._non_negative_int(var('refill_max_bytes_before_external_sort', spill), 'refill_max_bytes_before_external_sort'),
      'join_algorithm': join_algorithm,
  }) }}
{% endmacro %}
