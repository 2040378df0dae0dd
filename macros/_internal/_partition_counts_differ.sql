{#-
  [(partition_id, rows in a, rows in b)] for the ids whose row counts differ between two
  tables of a database: the check after every copy (a copy that silently moved nothing
  would otherwise look like success).
-#}
{% macro _partition_counts_differ(database, table_a, table_b, partition_ids) %}
  {%- if partition_ids | length == 0 -%}{{ return([]) }}{%- endif -%}
  {%- set differ = [] -%}
  {%- for row in run_query(refill._partition_counts_sql(database, table_a, table_b, partition_ids)).rows -%}
    {%- do differ.append((row[1], row[2], row[3])) -%}
  {%- endfor -%}
  {{ return(differ) }}
{% endmacro %}
