{% macro refill_safe_post_hook() %}
  {{ return(adapter.dispatch('refill_safe_post_hook', 'refill')()) }}
{% endmacro %}

{#-
  Gives the model back its own query settings, so statements a materialization runs
  after its post-hooks are not capped. Nothing was set on the session, so nothing on
  the session needs restoring (see refill_safe_pre_hook).
-#}
{% macro default__refill_safe_post_hook() %}
  {%- if not execute -%}
    {{ return('{{ refill.refill_safe_post_hook() }}') }}
  {%- endif -%}
  {%- if model is mapping and '__refill_own_query_settings' in model -%}
    {%- do model.config.update({'query_settings': model.pop('__refill_own_query_settings')}) -%}
  {%- endif -%}
  {{ return('') }}
{% endmacro %}
