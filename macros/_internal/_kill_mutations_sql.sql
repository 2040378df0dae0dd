{#- One KILL MUTATION for [{table, mutation_id}] of a database; SYNC waits until they are gone. -#}
{% macro _kill_mutations_sql(database, mutations) %}
  {%- set matches = [] -%}
  {%- for mutation in mutations -%}
    {%- do matches.append('(table = ' ~ refill._string_literal(mutation.table) ~ ' AND mutation_id = ' ~ refill._string_literal(mutation.mutation_id) ~ ')') -%}
  {%- endfor -%}
  {{ return('KILL MUTATION' ~ refill._on_cluster() ~ ' WHERE database = ' ~ refill._string_literal(database)
      ~ ' AND (' ~ matches | join(' OR ') ~ ') SYNC') }}
{% endmacro %}
