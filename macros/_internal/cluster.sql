{#-
  Where a statement runs and what it reads on a cluster (profile `cluster:`): ON CLUSTER and
  clusterAllReplicas, one rule for every statement of the package.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#- The profile's cluster name, or none when the target is a single server. -#}
{% macro _cluster() %}
  {%- set cluster = (target.get('cluster') or '') | string | trim -%}
  {{ return(cluster if cluster else none) }}
{% endmacro %}

{#-
  ` ON CLUSTER `name`` when the profile names a cluster. Every statement refill issues
  that changes parts or mutations carries it: run on one replica only, an OPTIMIZE,
  KILL or partition copy would leave the other shards as they were (for a Replicated
  table the distributed DDL runs once per shard and replication does the rest). Not in
  a Replicated database, which replicates these statements itself and refuses ON
  CLUSTER (the same rule dbt-clickhouse applies to its own DDL).
-#}
{% macro _on_cluster() %}
  {%- set cluster = refill._cluster() -%}
  {%- if not cluster or 'replicated' in (target.get('database_engine') or '') | lower -%}
    {{ return('') }}
  {%- endif -%}
  {{ return(' ON CLUSTER ' ~ refill._quote(cluster)) }}
{% endmacro %}

{#-
  system.<name>, or its union over every replica on a cluster: parts and mutations are
  per replica, and a check that reads only the replica dbt happens to be connected to
  would pass while another replica still holds the problem.
-#}
{% macro _system_table(name) %}
  {%- set cluster = refill._cluster() -%}
  {%- if cluster -%}
    {{ return('clusterAllReplicas(' ~ refill._string_literal(cluster) ~ ', system.' ~ name ~ ')') }}
  {%- endif -%}
  {{ return('system.' ~ name) }}
{% endmacro %}
