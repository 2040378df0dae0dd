{% macro canary_query(model, date_column, value_column, group_by=[], start_date=none, end_date=none, threshold=1.5, zero_is_anomaly=false, where=none) %}
  {{ return(adapter.dispatch('canary_query', 'refill')(model, date_column, value_column, group_by, start_date, end_date, threshold, zero_is_anomaly, where)) }}
{% endmacro %}

{#-
  The adjacent-day ratio scan: rows (entity, day, previous, value, ratio, reason) that
  violate, ordered by entity and day; no rows means clean.

  Per entity (the group_by columns) and day, value = sum(value_column) over the rows
  (physical rows: an unmerged duplicate doubles the day, as it does for every reader
  without FINAL). A day is flagged when value / previous day's value exceeds threshold
  or falls below 1 / threshold; with zero_is_anomaly also when the value is 0 or NULL,
  and at the first day of a run of missing days inside an entity's series.

  The window starts 3 days before the month of start_date: a refill rewrites whole
  months, so its typical damage is a step at the month boundary (a month computed 2x
  is flat inside the month), which a scan starting at the gap day cannot see. It ends
  at end_date (inclusive). Without dates the whole table is scanned.

  `model`: a model name (resolved in the project's graph), 'database.table', or a
  relation. Column arguments are names (quoted); `where` is an SQL predicate.
-#}
{% macro default__canary_query(model, date_column, value_column, group_by=[], start_date=none, end_date=none, threshold=1.5, zero_is_anomaly=false, where=none) %}
  {%- set daily = refill._canary_daily_sql(model, date_column, value_column, group_by, start_date, end_date, where) -%}
  {%- set threshold = refill._threshold(threshold) -%}
  {%- set flag_zero = 1 if zero_is_anomaly else 0 -%}
  {%- set query -%}
    WITH daily AS (
        {{ daily }}
    ),
    series AS (
        SELECT
            entity, day, value,
            lagInFrame(toNullable(value)) OVER w AS previous,
            lagInFrame(toNullable(day)) OVER w AS previous_day,
            if(previous IS NULL OR value IS NULL OR previous = 0 OR value = 0,
               NULL, toFloat64(value) / toFloat64(previous)) AS ratio
        FROM daily
        WINDOW w AS (PARTITION BY entity ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    )
    SELECT entity, day, previous, value, ratio, reason
    FROM (
        SELECT
            entity, day, previous, toNullable(value) AS value, ratio,
            multiIf(
                ratio > {{ threshold }}, 'ratio above {{ threshold }}',
                ratio < 1 / {{ threshold }}, 'ratio below 1/{{ threshold }}',
                {{ flag_zero }} AND (value IS NULL OR value = 0), 'zero or NULL',
                '') AS reason
        FROM series
        UNION ALL
        {# Named apart: an alias `day` would also replace `day` in this WHERE. #}
        SELECT entity, addDays(assumeNotNull(previous_day), 1) AS first_missing_day, previous, NULL, NULL, 'missing day'
        FROM series
        WHERE {{ flag_zero }} AND previous_day IS NOT NULL AND previous_day < subtractDays(day, 1)
    )
    WHERE reason != ''
    ORDER BY entity, day
  {%- endset -%}
  {{ return(query) }}
{% endmacro %}
