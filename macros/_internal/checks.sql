{#-
  The scans behind the read-only checks: the canary's daily series and the duplicate-key scan.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#-
  The canary's daily series: (entity String, day Date, value) per entity and day inside
  the window (see canary_query for the window and the arguments).
-#}
{% macro _canary_daily_sql(model, date_column, value_column, group_by, start_date, end_date, where) %}
  {%- set relation = refill._relation(model) -%}
  {%- set date_column = refill._quote(refill._name(date_column, 'date_column')) -%}
  {%- set value_column = refill._quote(refill._name(value_column, 'value_column')) -%}
  {%- set group_columns = [] -%}
  {%- for column in refill._name_list(group_by, 'group_by', required=false) -%}
    {%- do group_columns.append('toString(' ~ refill._quote(column) ~ ')') -%}
  {%- endfor -%}
  {%- if group_columns | length == 0 -%}
    {%- set entity = "'all'" -%}
  {%- elif group_columns | length == 1 -%}
    {%- set entity = group_columns[0] -%}
  {%- else -%}
    {%- set entity = "concatWithSeparator(' | ', " ~ group_columns | join(', ') ~ ")" -%}
  {%- endif -%}
  {%- set conditions = [] -%}
  {%- if start_date is not none and (start_date | string | trim) != '' -%}
    {%- do conditions.append("toDate(" ~ date_column ~ ") >= subtractDays(toStartOfMonth(toDate('" ~ refill._date(start_date, 'start_date') ~ "')), 3)") -%}
  {%- endif -%}
  {%- if end_date is not none and (end_date | string | trim) != '' -%}
    {%- do conditions.append("toDate(" ~ date_column ~ ") <= toDate('" ~ refill._date(end_date, 'end_date') ~ "')") -%}
  {%- endif -%}
  {%- if where is not none and (where | string | trim) != '' -%}
    {%- do conditions.append('(' ~ where ~ ')') -%}
  {%- endif -%}
  {{ return(
      'SELECT ' ~ entity ~ ' AS entity, toDate(' ~ date_column ~ ') AS day, sum(' ~ value_column ~ ') AS value'
      ~ ' FROM ' ~ relation
      ~ (' WHERE ' ~ conditions | join(' AND ') if conditions else '')
      ~ ' GROUP BY entity, day') }}
{% endmacro %}

{#- The duplicate-key scan over {table: [partition_id]} (see duplicate_keys_query). -#}
{% macro _duplicate_keys_sql(database, partition_ids, sorting_keys) %}
  {%- set cluster = refill._cluster() -%}
  {%- set selects = [] -%}
  {%- for table, ids in partition_ids.items() | sort -%}
    {%- set source = refill._table(database, table) -%}
    {%- if cluster -%}
      {%- set source = 'cluster(' ~ refill._string_literal(cluster) ~ ', ' ~ source ~ ')' -%}
    {%- endif -%}
    {%- do selects.append(
        "SELECT " ~ refill._string_literal(table) ~ " AS table_name, _partition_id AS partition_id, "
        ~ "toUInt64(count()) AS rows, toUInt64(uniqExact(" ~ sorting_keys[table] ~ ")) AS keys "
        ~ "FROM " ~ source ~ " WHERE _partition_id IN (" ~ refill._literal_list(ids) ~ ") "
        ~ "GROUP BY " ~ ("_shard_num, " if cluster else "") ~ "_partition_id HAVING rows != keys") -%}
  {%- endfor -%}
  {%- if selects | length == 0 -%}
    {{ return("SELECT '' AS table_name, '' AS partition_id, toUInt64(0) AS rows, toUInt64(0) AS keys WHERE 0") }}
  {%- endif -%}
  {#- ORDER BY after UNION ALL would bind to the last SELECT only. -#}
  {{ return('SELECT * FROM (\n' ~ selects | join('\nUNION ALL\n') ~ '\n)\nORDER BY table_name, partition_id') }}
{% endmacro %}
