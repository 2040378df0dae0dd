{#- `database`.`table`, both validated and quoted. -#}
{% macro _table(database, table_name) %}
  {{ return(refill._quote(refill._name(database, 'database')) ~ '.' ~ refill._quote(refill._name(table_name, 'table_name'))) }}
{% endmacro %}
