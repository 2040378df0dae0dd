{#-
  SQL text from values: identifiers back-quoted, strings escaped, relations resolved.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#- A back-quoted ClickHouse identifier (backslashes and back-quotes escaped). -#}
{% macro _quote(name) %}
  {{ return('`' ~ (name | string).replace('\\', '\\\\').replace('`', '\\`') ~ '`') }}
{% endmacro %}

{#- A ClickHouse string literal (backslashes and quotes escaped). -#}
{% macro _string_literal(value) %}
  {{ return("'" ~ (value | string).replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}
{% endmacro %}

{#- 'a', 'b', 'c': string literals for an IN list. -#}
{% macro _literal_list(values) %}
  {%- set literals = [] -%}
  {%- for value in values -%}{%- do literals.append(refill._string_literal(value)) -%}{%- endfor -%}
  {{ return(literals | join(', ')) }}
{% endmacro %}

{#- `database`.`table`, both validated and quoted. -#}
{% macro _table(database, table_name) %}
  {{ return(refill._quote(refill._name(database, 'database')) ~ '.' ~ refill._quote(refill._name(table_name, 'table_name'))) }}
{% endmacro %}

{#-
  What a check reads, as SQL: a relation as it renders; a model, seed or snapshot name
  resolved through the project's graph (its schema and alias, no ref() needed inside a
  run-operation); 'database.table'; or a parenthesised subquery (what dbt passes a
  generic test that has a `where` config).
-#}
{% macro _relation(model) %}
  {%- if model is not string -%}
    {%- if model is none -%}
      {{ exceptions.raise_compiler_error("refill: model is required (a model name, 'database.table' or a relation)") }}
    {%- endif -%}
    {{ return(model | string) }}
  {%- endif -%}
  {%- set text = model | trim -%}
  {%- if text.startswith('(') -%}
    {{ return(text) }}
  {%- endif -%}
  {%- if text == '' -%}
    {{ exceptions.raise_compiler_error("refill: model is required (a model name, 'database.table' or a relation)") }}
  {%- endif -%}
  {%- if '.' in text -%}
    {%- set database, table = text.split('.', 1) -%}
    {{ return(refill._table(database, table)) }}
  {%- endif -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type in ('model', 'seed', 'snapshot') and node.name == text -%}
      {{ return(refill._table(node.schema, node.alias or node.name)) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(refill._table(target.schema, text)) }}
{% endmacro %}
