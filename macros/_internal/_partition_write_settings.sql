{#-
  SETTINGS for partition copies and replaces. alter_sync = 2 waits for every replica
  (3 did not wait on Replicated tables before ClickHouse 26.10). From 26.6 on, REPLACE
  PARTITION from a source without that partition is refused unless allowed; refill
  means it: the partition is absent in the source, so it must become absent here. Older
  servers do not know that setting (Code 115, unknown setting), and refill does not send
  them a REPLACE (see _replace_partition_clauses): it goes with the same version test.
-#}
{% macro _partition_write_settings() %}
  {%- set settings = ['alter_sync = 2'] -%}
  {%- if refill._replace_partition_is_restart_safe() -%}
    {%- do settings.append('allow_replace_partition_from_empty_source = 1') -%}
  {%- endif -%}
  {{ return('SETTINGS ' ~ settings | join(', ')) }}
{% endmacro %}
