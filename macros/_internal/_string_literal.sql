{#- A ClickHouse string literal (backslashes and quotes escaped). -#}
{% macro _string_literal(value) %}
  {{ return("'" ~ (value | string).replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}
{% endmacro %}
