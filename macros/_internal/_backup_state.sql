{#-
  {backup table name: {'exists', 'marked', 'months'}} for the backups of `tables` with
  `suffix`: whether a table of that name exists, whether its comment marks it as a
  refill backup, and the months it records.
-#}
{% macro _backup_state(database, tables, suffix) %}
  {%- set names = {} -%}
  {%- for table in tables -%}{%- do names.update({refill.backup_table_name(table, suffix): table}) -%}{%- endfor -%}
  {%- set result = run_query(
      "SELECT DISTINCT name, comment FROM " ~ refill._system_table('tables') ~ " WHERE database = " ~ refill._string_literal(database)
      ~ " AND name IN (" ~ refill._literal_list(names.keys() | list) ~ ")") -%}
  {%- set state = {} -%}
  {%- for name in names -%}{%- do state.update({name: {'exists': false, 'marked': false, 'months': []}}) -%}{%- endfor -%}
  {%- for row in result.rows -%}
    {%- set recorded = modules.re.search('; months=([0-9,-]*)$', row[1] or '') -%}
    {%- set months = recorded.group(1).split(',') | reject('equalto', '') | list if recorded else [] -%}
    {%- do state.update({row[0]: {'exists': true, 'marked': (row[1] or '').startswith('refill backup of '), 'months': months}}) -%}
  {%- endfor -%}
  {{ return(state) }}
{% endmacro %}
