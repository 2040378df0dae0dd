{% macro month_partitions_query(database, tables, partitions) %}
  {{ return(adapter.dispatch('month_partitions_query', 'refill')(database, tables, partitions)) }}
{% endmacro %}

{#-
  Which partitions hold each month: rows (table_name, month, partition_id, rows), one
  per table, month and active partition. The months come from each part's min/max of
  the partition key's date column (min_date for Date, min_time for DateTime), so any
  partitioning by a date works and no column name is needed; a month with no row in a
  table has no row here.
-#}
{% macro default__month_partitions_query(database, tables, partitions) %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- set months = refill._month_list(partitions, 'partitions') -%}
  {%- set month_values = [] -%}
  {%- for month in months -%}{%- do month_values.append("toDate('" ~ month ~ "')") -%}{%- endfor -%}
  {%- set query -%}
    SELECT table AS table_name, month, partition_id, sum(rows) AS rows
    FROM (
        SELECT DISTINCT
            table, partition_id, name, rows,
            if(min_date > toDate(0), min_date, toDate(min_time)) AS first_day,
            if(max_date > toDate(0), max_date, toDate(max_time)) AS last_day
        FROM {{ refill._system_table('parts') }}
        WHERE active
          AND database = {{ refill._string_literal(database) }}
          AND table IN ({{ refill._literal_list(tables) }})
    )
    ARRAY JOIN [{{ month_values | join(', ') }}] AS month
    WHERE first_day <= toLastDayOfMonth(month) AND last_day >= month
    GROUP BY table_name, month, partition_id
    ORDER BY table_name, month, partition_id
  {%- endset -%}
  {{ return(query) }}
{% endmacro %}
