{% macro _non_negative_int(value, argument_name) %}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.match('^[0-9]+$', text) -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be a non-negative integer (bytes), got '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(text | int) }}
{% endmacro %}
