{#-
  The one definition of "the partitions of month M" of a table, read from the engine:
  none when the table does not exist, else {'table', 'partition_key', 'problem' (none or
  why refill cannot place the table's partitions in months), and when there is no
  problem: 'part_month' (SQL over a system.parts row: the month its `partition` value
  names) and 'row_month' (SQL over a row of the table: the month the key files it under)}.

  The partition value is read back typed: system.parts prints it as text, which
  CAST(partition, <the key's DESCRIBE type>) parses exactly as ClickHouse wrote it (a
  Tokyo DateTime in Tokyo time, a Nullable key's NULL as NULL). 'row_month' evaluates
  the same key element on rows, so a caller can check that no row of a month lies
  outside the partitions found for it.
-#}
{% macro _partition_months(database, table) %}
  {%- set found = run_query(
      "SELECT any(partition_key) FROM " ~ refill._system_table('tables')
      ~ " WHERE database = " ~ refill._string_literal(database) ~ " AND name = " ~ refill._string_literal(table)
      ~ " HAVING count() > 0") -%}
  {%- if found.rows | length == 0 -%}{{ return(none) }}{%- endif -%}
  {%- set partition_key = found.rows[0][0] or '' -%}
  {%- set elements = refill._split_partition_key(partition_key) -%}
  {%- set types = [] -%}
  {%- if elements -%}
    {%- for row in run_query("DESCRIBE (SELECT " ~ elements | join(', ') ~ " FROM " ~ refill._table(database, table) ~ ")").rows -%}
      {%- do types.append(row[1]) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set rule = refill._partition_month_rule(elements, types) -%}
  {%- set result = {'table': table, 'partition_key': partition_key, 'problem': rule.problem} -%}
  {%- if rule.problem is none -%}
    {%- if elements | length == 1 -%}
      {%- set value = "CAST(partition, " ~ refill._string_literal(types[0]) ~ ")" -%}
    {%- else -%}
      {%- set value = "tupleElement(CAST(partition, " ~ refill._string_literal('Tuple(' ~ types | join(', ') ~ ')') ~ "), " ~ (rule.element + 1) ~ ")" -%}
    {%- endif -%}
    {%- do result.update({'part_month': refill._month_of_sql(value, rule.kind),
                          'row_month': refill._month_of_sql('(' ~ elements[rule.element] ~ ')', rule.kind)}) -%}
  {%- endif -%}
  {{ return(result) }}
{% endmacro %}
