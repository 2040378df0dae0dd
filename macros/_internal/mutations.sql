{#-
  Mutations: killing failed ones and waiting until every pending one has been attempted.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#- One KILL MUTATION for [{table, mutation_id}] of a database; SYNC waits until they are gone. -#}
{% macro _kill_mutations_sql(database, mutations) %}
  {%- set matches = [] -%}
  {%- for mutation in mutations -%}
    {%- do matches.append('(table = ' ~ refill._string_literal(mutation.table) ~ ' AND mutation_id = ' ~ refill._string_literal(mutation.mutation_id) ~ ')') -%}
  {%- endfor -%}
  {{ return('KILL MUTATION' ~ refill._on_cluster() ~ ' WHERE database = ' ~ refill._string_literal(database)
      ~ ' AND (' ~ matches | join(' OR ') ~ ') SYNC') }}
{% endmacro %}

{#-
  Waits (bounded) until every unfinished mutation in scope has been attempted: done,
  killed, or failed at least once. A server forgets failure reasons when it restarts
  (an embedded engine restarts with every process), so right after a start a poisoned
  mutation looks merely pending until the engine retries it. Returns the number still
  unattempted when the wait ended (they are left alone: running is not failing).
-#}
{% macro _await_mutation_attempts(database, tables, seconds) %}
  {%- set scope = refill._system_table('mutations') ~ ' WHERE database = ' ~ refill._string_literal(database)
      ~ ((' AND table IN (' ~ refill._literal_list(tables) ~ ')') if tables else '') -%}
  {%- set count_sql = 'SELECT count() FROM ' ~ scope ~ " AND NOT is_done AND NOT is_killed AND latest_fail_reason = ''" -%}
  {%- set state = namespace(left=0, waited=0.0) -%}
  {%- for _ in range(((seconds | float) / 0.5) | round(0, 'ceil') | int + 1) -%}
    {%- if loop.first or (state.left > 0 and state.waited < seconds | float) -%}
      {%- if not loop.first -%}
        {%- do run_query('SELECT sleep(0.5)') -%}
        {%- set state.waited = state.waited + 0.5 -%}
      {%- endif -%}
      {%- set state.left = run_query(count_sql).columns[0].values()[0] | int -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(state.left) }}
{% endmacro %}
