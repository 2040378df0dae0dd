{#- One name or a list of names (tables, columns) -> a de-duplicated list of non-empty strings. -#}
{% macro _name_list(value, argument_name, required=true) %}
  {%- set names = [] -%}
  {%- for item in refill._as_list(value) -%}
    {%- set name = refill._name(item, argument_name) -%}
    {%- if name not in names -%}{%- do names.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- if required and names | length == 0 -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " needs at least one name") }}
  {%- endif -%}
  {{ return(names) }}
{% endmacro %}
