{#- A month argument: the first day of a month as 'YYYY-MM-01', or a compiler error naming the argument. -#}
{% macro _month_start(value, argument_name) %}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.match('^\\d{4}-\\d{2}-01$', text) -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be the first day of a month (YYYY-MM-01), got '" ~ value ~ "'") }}
  {%- endif -%}
  {%- do refill._date(text, argument_name) -%}
  {{ return(text) }}
{% endmacro %}
