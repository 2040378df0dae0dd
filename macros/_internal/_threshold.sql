{#- A ratio threshold: a number above 1 (its inverse is the lower bound). -#}
{% macro _threshold(value) %}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.match('^[0-9]+(\\.[0-9]+)?$', text) or (text | float) <= 1 -%}
    {{ exceptions.raise_compiler_error("refill: threshold must be a number above 1 (e.g. 1.5), got '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(text) }}
{% endmacro %}
