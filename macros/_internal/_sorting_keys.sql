{#-
  {table: sorting key expression} from system.tables; a compiler error for a table that
  does not exist or has no sorting key (duplicates cannot be defined without one).
-#}
{% macro _sorting_keys(database, tables) %}
  {%- set result = run_query(
      "SELECT DISTINCT name, sorting_key FROM " ~ refill._system_table('tables') ~ " WHERE database = " ~ refill._string_literal(database)
      ~ " AND name IN (" ~ refill._literal_list(tables) ~ ")") -%}
  {%- set keys = {} -%}
  {%- for row in result.rows -%}{%- do keys.update({row[0]: row[1]}) -%}{%- endfor -%}
  {%- for table in tables -%}
    {%- if table not in keys -%}
      {{ exceptions.raise_compiler_error("refill: table " ~ refill._table(database, table) ~ " does not exist") }}
    {%- elif (keys[table] or '') | trim == '' -%}
      {{ exceptions.raise_compiler_error("refill: table " ~ refill._table(database, table) ~ " has no sorting key (ORDER BY tuple()), so duplicate keys cannot be checked") }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(keys) }}
{% endmacro %}
