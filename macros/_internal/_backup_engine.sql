{#-
  The storage of a backup twin, or none when `CREATE TABLE twin AS table` alone is right.

  A Replicated* table keeps its replication path in its metadata with {database},
  {table} and {uuid} already unfolded, so a twin created AS it would register as a
  second replica of the same path: refused with REPLICA_ALREADY_EXISTS at best, and a
  twin sharing the original's parts at worst. The twin gets the same storage with
  `/refill_backup_<suffix>` appended to the path ({shard}/{replica} stay macros, so each
  replica of each shard still expands its own). Shared* (ClickHouse Cloud) and plain
  MergeTree engines have no path to collide on.
-#}
{% macro _backup_engine(engine_full, suffix) %}
  {%- set found = modules.re.match("^(Replicated[A-Za-z]*MergeTree)\\('((?:[^'\\\\]|\\\\.)*)'(.*)$", engine_full or '', modules.re.S) -%}
  {%- if not found -%}{{ return(none) }}{%- endif -%}
  {{ return(found.group(1) ~ "('" ~ found.group(2) ~ "/refill_backup_" ~ suffix ~ "'" ~ found.group(3)) }}
{% endmacro %}
