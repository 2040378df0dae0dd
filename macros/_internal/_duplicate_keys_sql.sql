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
