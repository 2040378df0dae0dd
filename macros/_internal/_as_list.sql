{#- None -> [], a string -> [string], a list -> itself: arguments that take one item or several. -#}
{% macro _as_list(value) %}
  {%- if value is none -%}
    {{ return([]) }}
  {%- elif value is string or value is number -%}
    {{ return([value]) }}
  {%- elif value is iterable and value is not mapping -%}
    {{ return(value | list) }}
  {%- endif -%}
  {{ return([value]) }}
{% endmacro %}
