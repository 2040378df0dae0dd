{#-
  How refill puts a partition of one table in place of the same partition of another:
  the cohort swap (swap_months), the backup copy and the restore all go through
  _replace_partition_clauses, so the reasons below hold for every one of them.

  ClickHouse 26.6 and later: REPLACE PARTITION. It is atomic per partition (a reader sees
  the old parts or the new ones, never both), and it commits an empty part covering the
  replaced block range, so the old parts stay dead when the server restarts.

  Before 26.6 (measured on 25.8 LTS): REPLACE PARTITION only marks the old parts outdated,
  and nothing covers their block range. They stay on disk until the cleanup thread
  deletes them: seconds later, or, while a query is still reading them, until it ends. A
  crash or restart before that loads them as active again, beside the new parts: the
  month doubles, and a month replaced by nothing comes back. Deleting them right after
  the REPLACE does not close the hole (a running query keeps its parts; tested). DROP
  PARTITION is safe: it commits the same empty covering part 26.6's REPLACE does, so
  whatever survives of the old parts is covered when the table loads. So on these
  servers a partition is swapped with DROP PARTITION then ATTACH PARTITION … FROM, in one
  ALTER. The price is atomicity: between the two commands (the time it takes to hard-link
  the new parts) a reader can see the partition empty; never doubled, never mixed. A
  moment of an empty month is better than a doubled one that outlives a restart. An
  ATTACH from a source without the partition adds nothing, so a partition the source
  lacks ends up absent, as REPLACE makes it.
-#}
{% macro _replace_partition_clauses(partition_ids, source) %}
  {%- set clauses = [] -%}
  {%- for partition_id in partition_ids -%}
    {%- set partition = 'PARTITION ID ' ~ refill._string_literal(partition_id) -%}
    {%- if refill._replace_partition_is_restart_safe() -%}
      {%- do clauses.append('REPLACE ' ~ partition ~ ' FROM ' ~ source) -%}
    {%- else -%}
      {%- do clauses.append('DROP ' ~ partition) -%}
      {%- do clauses.append('ATTACH ' ~ partition ~ ' FROM ' ~ source) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(clauses | join(', ')) }}
{% endmacro %}
