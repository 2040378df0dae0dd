{#- A date argument as 'YYYY-MM-DD' (a real calendar day), or a compiler error naming the argument. -#}
{% macro _date(value, argument_name) %}
  {%- set text = value | string | trim -%}
  {%- set valid = modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', text) is not none -%}
  {%- if valid -%}
    {%- set parts = text.split('-') | map('int') | list -%}
    {%- set leap = (parts[0] % 4 == 0 and parts[0] % 100 != 0) or parts[0] % 400 == 0 -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- set valid = 1 <= parts[1] <= 12 and 1 <= parts[2] <= month_days[parts[1] - 1] -%}
  {%- endif -%}
  {%- if not valid -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be a date (YYYY-MM-DD), got '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(text) }}
{% endmacro %}
