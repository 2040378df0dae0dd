{#-
  A compiler error when a table holds rows of `months` outside `partition_ids` (see
  _rows_outside_partitions): `action` ('swapped', 'backed up', 'restored') says what
  was then not done.
-#}
{% macro _check_month_partitions(database, tables, months, partition_ids, action) %}
  {%- for table in tables -%}
    {%- set outside = refill._rows_outside_partitions(database, table, months, partition_ids) -%}
    {%- if outside > 0 -%}
      {{ exceptions.raise_compiler_error("refill: " ~ refill._table(database, table) ~ " holds " ~ outside ~ " row(s) of months "
          ~ months | join(', ') ~ " outside the partitions found for them (" ~ (partition_ids | join(', ') or 'none')
          ~ "); nothing was " ~ action) }}
    {%- endif -%}
  {%- endfor -%}
{% endmacro %}
