{% macro backup_table_name(table_name, suffix) %}
  {{ return(adapter.dispatch('backup_table_name', 'refill')(table_name, suffix)) }}
{% endmacro %}

{#- The backup twin of a table: <table>__refill_backup_<suffix>, in the table's database. -#}
{% macro default__backup_table_name(table_name, suffix) %}
  {%- set table_name = refill._name(table_name, 'table_name') -%}
  {%- if suffix is none or not modules.re.match('^[A-Za-z0-9_]+$', suffix | string) -%}
    {{ exceptions.raise_compiler_error("refill: suffix must be letters, digits and underscores (e.g. a run id), got '" ~ suffix ~ "'") }}
  {%- endif -%}
  {{ return(table_name ~ '__refill_backup_' ~ suffix) }}
{% endmacro %}
