{#- The profile's cluster name, or none when the target is a single server. -#}
{% macro _cluster() %}
  {%- set cluster = (target.get('cluster') or '') | string | trim -%}
  {{ return(cluster if cluster else none) }}
{% endmacro %}
