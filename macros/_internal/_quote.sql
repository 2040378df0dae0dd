{#- A back-quoted ClickHouse identifier (backslashes and back-quotes escaped). -#}
{% macro _quote(name) %}
  {{ return('`' ~ (name | string).replace('\\', '\\\\').replace('`', '\\`') ~ '`') }}
{% endmacro %}
