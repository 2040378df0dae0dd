{#-
  Rows of `table` that its partition key files under one of `months` but that lie in
  none of `partition_ids`: 0 unless the partitions found for the months are wrong. The
  check after every "which partitions hold month M" that is about to copy or replace
  them: a month found in too few partitions would otherwise copy nothing, or swap
  nothing, and report success (issue #12: a Date32 month backed up as 0 partitions).
  Reads the key's columns of those months only (the key prunes the other partitions).
-#}
{% macro _rows_outside_partitions(database, table, months, partition_ids) %}
  {%- set key = refill._partition_months(database, table) -%}
  {%- if key is none or key.problem -%}{{ return(0) }}{%- endif -%}
  {%- set month_values = [] -%}
  {%- for month in months -%}{%- do month_values.append("toDate('" ~ month ~ "')") -%}{%- endfor -%}
  {%- set outside = (" AND _partition_id NOT IN (" ~ refill._literal_list(partition_ids) ~ ")") if partition_ids else "" -%}
  {%- set found = run_query("SELECT count() FROM " ~ refill._table(database, table)
      ~ " WHERE " ~ key.row_month ~ " IN (" ~ month_values | join(', ') ~ ")" ~ outside) -%}
  {{ return(found.rows[0][0] | int) }}
{% endmacro %}
