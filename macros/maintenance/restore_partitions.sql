{% macro restore_partitions(database, tables, partitions=none, suffix=none) %}
  {{ return(adapter.dispatch('restore_partitions', 'refill')(database, tables, partitions, suffix)) }}
{% endmacro %}

{#-
  Puts back the months a backup_partitions call copied: every partition of the table
  holding one of the months is replaced by the twin's (REPLACE PARTITION, atomic per
  partition), and a month that was empty at backup time is emptied. `partitions`
  defaults to every month the backup holds; asking for a month it does not hold fails
  before anything runs. Idempotent; checked row for row per partition. The backup is
  kept (drop it with drop_backups). Returns the number of partitions restored.
-#}
{% macro default__restore_partitions(database, tables, partitions=none, suffix=none) %}
  {%- set database = refill._name(database, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables') -%}
  {%- set months = refill._month_list(partitions, 'partitions') if partitions is not none else none -%}
  {%- for table in tables -%}{%- do refill.backup_table_name(table, suffix) -%}{%- endfor -%}
  {%- if not execute -%}{{ return(0) }}{%- endif -%}

  {%- do refill._require_tables(database, tables) -%}
  {%- set state = refill._backup_state(database, tables, suffix) -%}
  {%- set plan = [] -%}
  {%- for table in tables -%}
    {%- set backup = refill.backup_table_name(table, suffix) -%}
    {%- if not state[backup].exists -%}
      {{ exceptions.raise_compiler_error("refill: no backup " ~ refill._table(database, backup) ~ " to restore " ~ refill._table(database, table) ~ " from; nothing was restored") }}
    {%- endif -%}
    {%- set wanted = months if months is not none else state[backup].months -%}
    {%- for month in wanted -%}
      {%- if month not in state[backup].months -%}
        {{ exceptions.raise_compiler_error("refill: " ~ refill._table(database, backup) ~ " holds months " ~ state[backup].months | join(', ') ~ ", not " ~ month ~ "; nothing was restored") }}
      {%- endif -%}
    {%- endfor -%}
    {%- do plan.append((table, backup, wanted)) -%}
  {%- endfor -%}

  {%- set restored = namespace(partitions=0) -%}
  {%- for table, backup, wanted in plan -%}
    {%- set ids = refill._copy_month_partitions(database, backup, table, wanted, 'restored') if wanted else [] -%}
    {%- set restored.partitions = restored.partitions + ids | length -%}
    {%- do log("refill: restored " ~ refill._table(database, table) ~ " months " ~ wanted | join(', ') ~ " (" ~ ids | length ~ " partition(s)) from " ~ refill._table(database, backup), info=true) -%}
  {%- endfor -%}
  {{ return(restored.partitions) }}
{% endmacro %}
