{#-
  Every ClickHouse database the project writes: the target schema and the schema of each
  model, seed and snapshot in the graph (a custom schema='x' lands in `<target schema>_x`),
  sorted. Empty of custom schemas while dbt parses (the graph is only there at execution).
-#}
{% macro _project_databases() %}
  {%- set databases = [target.schema] -%}
  {%- if execute -%}
    {%- for node in graph.nodes.values() -%}
      {%- if node.resource_type in ('model', 'seed', 'snapshot') and node.config.materialized != 'ephemeral'
            and node.schema and node.schema not in databases -%}
        {%- do databases.append(node.schema) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(databases | sort) }}
{% endmacro %}
