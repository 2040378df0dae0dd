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
