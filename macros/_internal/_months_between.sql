{#- ['YYYY-MM-01', …]: every month from `first` to `last` (both 'YYYY-MM-01'), in order. -#}
{% macro _months_between(first, last) %}
  {%- set a = modules.datetime.date.fromisoformat(first | string) -%}
  {%- set b = modules.datetime.date.fromisoformat(last | string) -%}
  {%- set months = [] -%}
  {%- for i in range((b.year - a.year) * 12 + b.month - a.month + 1) -%}
    {%- do months.append(modules.datetime.date(a.year + (a.month - 1 + i) // 12, (a.month - 1 + i) % 12 + 1, 1).isoformat()) -%}
  {%- endfor -%}
  {{ return(months) }}
{% endmacro %}
