{#-
  A database, table or column name. Anything a ClickHouse name can hold is accepted
  (it is always back-quoted), but not an empty or non-string value, and not control
  characters, which are never a real name and usually a templating mistake.
-#}
{% macro _name(value, argument_name) %}
  {%- if value is none or value is not string or (value | trim) == '' -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be a non-empty name, got '" ~ value ~ "'") }}
  {%- endif -%}
  {%- if modules.re.search('[\\x00-\\x1f]', value) -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " contains a control character: '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(value) }}
{% endmacro %}
