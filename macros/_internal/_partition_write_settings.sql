{#-
  SETTINGS for partition copies and replaces. alter_sync = 2 waits for every replica
  (3 did not wait on Replicated tables before ClickHouse 26.10). From 26.6 on, REPLACE
  PARTITION from a source without that partition is refused unless allowed; refill
  means it: the partition is absent in the source, so it must become absent here.
-#}
{% macro _partition_write_settings() %}
  {%- set settings = ['alter_sync = 2'] -%}
  {%- if adapter.is_at_or_after_version('26.6') -%}
    {%- do settings.append('allow_replace_partition_from_empty_source = 1') -%}
  {%- endif -%}
  {{ return('SETTINGS ' ~ settings | join(', ')) }}
{% endmacro %}
