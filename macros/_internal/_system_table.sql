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
