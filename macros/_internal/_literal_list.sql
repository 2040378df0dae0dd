{#- 'a', 'b', 'c': string literals for an IN list. -#}
{% macro _literal_list(values) %}
  {%- set literals = [] -%}
  {%- for value in values -%}{%- do literals.append(refill._string_literal(value)) -%}{%- endfor -%}
  {{ return(literals | join(', ')) }}
{% endmacro %}
