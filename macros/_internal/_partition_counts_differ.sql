{#-
  [(partition_id, rows in a, rows in b)] for the ids whose row counts differ between two
  tables of a database: the check after every copy (a copy that silently moved nothing
  would otherwise look like success).
-#}
{% macro _partition_counts_differ(database, table_a, table_b, partition_ids) %}
  {%- if partition_ids | length == 0 -%}{{ return([]) }}{%- endif -%}
  {%- set ids = refill._literal_list(partition_ids) -%}
  {%- set counts -%}
    SELECT partition_id, sumIf(rows, table = {{ refill._string_literal(table_a) }}) AS a, sumIf(rows, table = {{ refill._string_literal(table_b) }}) AS b
    FROM (
        SELECT DISTINCT table, partition_id, name, rows
        FROM {{ refill._system_table('parts') }}
        WHERE active AND database = {{ refill._string_literal(database) }}
          AND table IN ({{ refill._literal_list([table_a, table_b]) }})
          AND partition_id IN ({{ ids }})
    )
    GROUP BY partition_id
    HAVING a != b
    ORDER BY partition_id
  {%- endset -%}
  {%- set differ = [] -%}
  {%- for row in run_query(counts).rows -%}{%- do differ.append((row[0], row[1], row[2])) -%}{%- endfor -%}
  {{ return(differ) }}
{% endmacro %}
