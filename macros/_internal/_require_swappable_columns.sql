{#-
  REPLACE PARTITION needs the staging table and the target to hold the same columns with
  the same types (in any order); otherwise it fails with Code 122, in the middle of Phase 1.
  Preflight compares every cohort model with its table before anything is written (and
  applies on_schema_change); a difference found here was missed there: fail before any
  partition moves, naming the columns.
-#}
{% macro _require_swappable_columns(staging_relation, target_relation) %}
  {%- set differing_sql -%}
    SELECT name, arrayStringConcat(arraySort(groupUniqArray(concat(table, ': ', type))), ', ')
    FROM {{ refill._system_table('columns') }}
    WHERE database = {{ refill._string_literal(target_relation.schema) }}
      AND table IN ({{ refill._string_literal(target_relation.identifier) }}, {{ refill._string_literal(staging_relation.identifier) }})
    GROUP BY name
    HAVING uniqExact(table) != 2 OR uniqExact(type) != 1
    ORDER BY name
  {%- endset -%}
  {%- set differing = [] -%}
  {%- for row in run_query(differing_sql).rows -%}
    {%- do differing.append(row[0] ~ ' (' ~ row[1] ~ ')') -%}
  {%- endfor -%}
  {%- if differing | length > 0 -%}
    {{ exceptions.raise_compiler_error("refill: " ~ target_relation ~ ": the month recompute's columns differ from the table's, so its months cannot be swapped: " ~ differing | join('; ') ~ ". Check on_schema_change, or migrate the table first.") }}
  {%- endif -%}
{% endmacro %}
