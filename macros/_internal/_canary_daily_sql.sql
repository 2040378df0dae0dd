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
