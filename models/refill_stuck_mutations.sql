{#-
  Mutations in the databases the project writes (custom schemas too) that are not done: failed ones (a delete+insert killed
  half-way leaves one that blocks every later mutation of the table with Code 341; clear
  it with `python -m refill kill-mutations`) and ones running for longer than
  var('refill_stuck_mutation_minutes', 60). One row per replica on a cluster.
-#}
{{ config(enabled=var('refill_observability', false)) }}
{%- set minutes = refill._non_negative_int(var('refill_stuck_mutation_minutes', 60), 'refill_stuck_mutation_minutes') -%}
SELECT
    hostName() AS replica,
    database AS database_name,
    table AS table_name,
    mutation_id,
    command,
    create_time,
    dateDiff('second', create_time, now()) AS age_seconds,
    parts_to_do,
    if(latest_fail_reason != '', 'failed', 'stuck') AS state,
    splitByChar('\n', latest_fail_reason)[1] AS reason,
    latest_fail_time
FROM {{ refill._system_table('mutations') }}
WHERE database IN ({{ refill._literal_list(refill._project_databases()) }})
  AND NOT is_done
  AND NOT is_killed
  AND (latest_fail_reason != '' OR create_time < now() - INTERVAL {{ minutes }} MINUTE)
