{% macro kill_failed_mutations(database=none, tables=none, dry_run=false) %}
  {{ return(adapter.dispatch('kill_failed_mutations', 'refill')(database, tables, dry_run)) }}
{% endmacro %}

{#-
  Kills the failed mutations of one database (default: the target schema), or only of
  `tables`: the "poisoned" mutation a failed delete+insert leaves behind (say its IN
  subquery read a temporary table that is gone) never finishes, makes every later
  mutation of the table fail with Code 341, and could still complete one day and
  delete rows. A mutation not attempted yet (a server forgets failure reasons when it
  restarts) is waited for, up to var('refill_mutation_settle_seconds', 10) seconds, so
  a poisoned one is not mistaken for a running one. Each one is logged (table, mutation id, command, first line of the
  reason) before anything is killed; dry_run=true stops there. The kill waits (SYNC)
  and is verified: the invocation fails if any of them is still pending. Returns the
  number of mutations found.

  A killed mutation is not rolled back: parts it already rewrote stay rewritten.
-#}
{% macro default__kill_failed_mutations(database=none, tables=none, dry_run=false) %}
  {%- set database = refill._name(database if database is not none else target.schema, 'database') -%}
  {%- set tables = refill._name_list(tables, 'tables', required=false) -%}
  {%- if not execute -%}{{ return(0) }}{%- endif -%}
  {%- set scope = refill._quote(database) ~ (' (tables ' ~ tables | join(', ') ~ ')' if tables else '') -%}
  {%- set settle = refill._non_negative_int(var('refill_mutation_settle_seconds', 10), 'refill_mutation_settle_seconds') -%}

  {%- set unattempted = refill._await_mutation_attempts(database, tables, settle) -%}
  {%- if unattempted > 0 -%}
    {%- do log("refill: " ~ unattempted ~ " mutation(s) in " ~ scope ~ " still running after " ~ settle ~ "s without a failure; left alone", info=true) -%}
  {%- endif -%}
  {%- set failed = run_query(refill.failed_mutations_query(database, tables)) -%}
  {%- if failed.rows | length == 0 -%}
    {%- do log("refill: no failed mutations in " ~ scope, info=true) -%}
    {{ return(0) }}
  {%- endif -%}
  {%- set mutations = [] -%}
  {%- for row in failed.rows -%}
    {%- do mutations.append({'table': row['table_name'], 'mutation_id': row['mutation_id']}) -%}
    {%- do log("refill: failed mutation " ~ refill._table(row['database_name'], row['table_name']) ~ " " ~ row['mutation_id']
          ~ ": " ~ row['command'] ~ " -- " ~ row['reason'], info=true) -%}
  {%- endfor -%}
  {%- if dry_run -%}
    {%- do log("refill: dry run, would kill " ~ mutations | length ~ " failed mutation(s) in " ~ scope, info=true) -%}
    {{ return(mutations | length) }}
  {%- endif -%}

  {%- do run_query(refill._kill_mutations_sql(database, mutations)) -%}

  {%- set ids = [] -%}
  {%- for mutation in mutations -%}{%- do ids.append(mutation.mutation_id) -%}{%- endfor -%}
  {%- set pending = [] -%}
  {%- for row in run_query(refill.failed_mutations_query(database, tables)).rows -%}
    {%- if row['mutation_id'] in ids -%}
      {%- do pending.append(refill._table(row['database_name'], row['table_name']) ~ ' ' ~ row['mutation_id']) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if pending -%}
    {{ exceptions.raise_compiler_error("refill: KILL MUTATION did not remove: " ~ pending | join(', ')) }}
  {%- endif -%}
  {%- do log("refill: killed " ~ mutations | length ~ " failed mutation(s) in " ~ scope ~ " (a killed mutation is not rolled back)", info=true) -%}
  {{ return(mutations | length) }}
{% endmacro %}
