{% macro drop_backups(database, tables, suffix) %}
  {{ return(adapter.dispatch('drop_backups', 'refill')(database, tables, suffix)) }}
{% endmacro %}

{#- Drops the backup twins of `tables` with `suffix` (only tables marked as refill backups). Returns how many. -#}
{% macro default__drop_backups(database, tables, suffix) %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- for table in tables -%}{%- do refill.backup_table_name(table, suffix) -%}{%- endfor -%}
  {%- if not execute -%}{{ return(0) }}{%- endif -%}
  {%- set state = refill._backup_state(database, tables, suffix) -%}
  {%- set dropped = namespace(count=0) -%}
  {%- for table in tables -%}
    {%- set backup = refill.backup_table_name(table, suffix) -%}
    {%- if state[backup].marked -%}
      {%- do run_query(refill._drop_table_sql(database, backup)) -%}
      {%- set dropped.count = dropped.count + 1 -%}
      {%- do log("refill: dropped " ~ refill._table(database, backup), info=true) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(dropped.count) }}
{% endmacro %}
