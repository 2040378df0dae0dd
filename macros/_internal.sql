{#- Validation and quoting helpers shared by the package's macros. -#}

{% macro _month_start(value, argument_name) %}
  {%- set text = value | string -%}
  {%- if not modules.re.match('^\\d{4}-\\d{2}-01$', text) -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be the first day of a month (YYYY-MM-01), got '" ~ text ~ "'") }}
  {%- endif -%}
  {%- do modules.datetime.datetime.strptime(text, '%Y-%m-%d') -%}
  {{ return(text) }}
{% endmacro %}

{% macro _string_literal(value) %}
  {{ return("'" ~ (value | string).replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}
{% endmacro %}
