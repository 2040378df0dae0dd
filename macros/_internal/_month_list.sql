{#- One month or a list of months -> the sorted, de-duplicated list of validated 'YYYY-MM-01'. -#}
{% macro _month_list(value, argument_name) %}
  {%- set items = refill._as_list(value) -%}
  {%- if items | length == 0 -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " needs at least one month (YYYY-MM-01)") }}
  {%- endif -%}
  {%- set months = [] -%}
  {%- for item in items -%}
    {%- set month = refill._month_start(item, argument_name) -%}
    {%- if month not in months -%}{%- do months.append(month) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(months | sort) }}
{% endmacro %}
