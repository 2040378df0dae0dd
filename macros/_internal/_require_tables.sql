{#- A compiler error naming the first of `tables` that does not exist in `database`. -#}
{% macro _require_tables(database, tables) %}
  {%- set result = run_query(
      "SELECT DISTINCT name FROM " ~ refill._system_table('tables') ~ " WHERE database = " ~ refill._string_literal(database)
      ~ " AND name IN (" ~ refill._literal_list(tables) ~ ")") -%}
  {#- rows, not columns[0]: an empty result may come back without columns -#}
  {%- set existing = [] -%}
  {%- for row in result.rows -%}{%- do existing.append(row[0]) -%}{%- endfor -%}
  {%- for table in tables -%}
    {%- if table not in existing -%}
      {{ exceptions.raise_compiler_error("refill: table " ~ refill._table(database, table) ~ " does not exist") }}
    {%- endif -%}
  {%- endfor -%}
{% endmacro %}
