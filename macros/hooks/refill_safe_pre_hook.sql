{% macro refill_safe_pre_hook() %}
  {{ return(adapter.dispatch('refill_safe_pre_hook', 'refill')()) }}
{% endmacro %}

{#-
  Caps memory and makes GROUP BY, ORDER BY and JOIN spill to disk for the model's own
  statements.

  The settings ride on the statements themselves (a SETTINGS clause, through
  dbt-clickhouse's `query_settings`), never on the session. A session SET has two
  failure modes this avoids: dbt skips post-hooks when a model fails, so a SET would
  stay on the connection for every later model of that thread; and over HTTP the
  profile's custom_settings are sent with every request and override a session SET,
  so the cap would silently not apply. A SETTINGS clause wins over both and ends with
  the statement.

  A hook written in config() is evaluated at parse time, outside any model run, so
  there it returns its own call as a template; dbt renders hook SQL again inside the
  model's materialization, where `model` is the dict dbt-clickhouse reads the query
  settings from. The rendered hook is empty: there is no statement to run.
-#}
{% macro default__refill_safe_pre_hook() %}
  {%- if not execute -%}
    {{ return('{{ refill.refill_safe_pre_hook() }}') }}
  {%- endif -%}
  {%- if model is not mapping or model.get('config') is not mapping -%}
    {{ return('') }}
  {%- endif -%}
  {#- A view stores its SETTINGS in its definition: every reader would inherit the caps. -#}
  {%- if model.config.get('materialized') in ('view', 'materialized_view', 'ephemeral') -%}
    {{ return('') }}
  {%- endif -%}
  {%- set own = model.config.get('query_settings') or {} -%}
  {%- if '__refill_own_query_settings' not in model -%}
    {%- do model.update({'__refill_own_query_settings': own}) -%}
  {%- endif -%}
  {%- set merged = refill.refill_safe_settings() -%}
  {#- A value the model sets itself in query_settings is more specific than the vars. -#}
  {%- do merged.update(own) -%}
  {%- do model.config.update({'query_settings': merged}) -%}
  {{ return('') }}
{% endmacro %}
