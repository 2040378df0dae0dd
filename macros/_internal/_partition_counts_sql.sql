{#-
  Rows (replica, partition_id, rows in a, rows in b) for the ids whose row counts differ
  between two tables. Compared replica by replica: replicas merge at different times,
  so their part lists differ even when their rows do not.
-#}
{% macro _partition_counts_sql(database, table_a, table_b, partition_ids) %}
  {%- set query -%}
    SELECT
        hostName() AS replica,
        partition_id,
        sumIf(rows, table = {{ refill._string_literal(table_a) }}) AS a,
        sumIf(rows, table = {{ refill._string_literal(table_b) }}) AS b
    FROM {{ refill._system_table('parts') }}
    WHERE active
      AND database = {{ refill._string_literal(database) }}
      AND table IN ({{ refill._literal_list([table_a, table_b]) }})
      AND partition_id IN ({{ refill._literal_list(partition_ids) }})
    GROUP BY replica, partition_id
    HAVING a != b
    ORDER BY partition_id, replica
  {%- endset -%}
  {{ return(query) }}
{% endmacro %}
