{% macro audit_month(staging_relation, target_relation, window_start, window_end) %}
  {{ return(adapter.dispatch('audit_month', 'refill')(staging_relation, target_relation, window_start, window_end)) }}
{% endmacro %}

{#-
  Write-audit-publish: compare the staged month of a cohort model with the live month
  before refill_swap publishes it, record the diff in `<target schema>.refill_audit`, and
  refuse (a compiler error, so nothing of the month is swapped and dbt skips the cohort
  models that read this one) when the diff is not what a prices gap explains.

  Parameters come from var `refill_audit`, written by the orchestrator for this run:
  {run_id, gap_days: [YYYY-MM-DD], models: {<model name>: {keys: [sql], date_column,
  price_columns: [name], key_price_derived, rows_depend_on_prices}}}. A repair may
    * change a price-derived column, anywhere;
    * add or drop keys on a gap day when a key column is price-derived or the model's
      rows depend on prices (an inner join to prices, a bucket on balance_usd), and then
      also change other columns of that day (an aggregate over a price-dependent group);
  anything else is unexplained: keys appearing or vanishing outside the gap, a column that
  does not derive from prices changing.

  Reads only the window's months of both tables (three scans of each), so the cost follows
  the months being rewritten, not the table.
-#}
{% macro default__audit_month(staging_relation, target_relation, window_start, window_end) %}
  {%- set params = var('refill_audit', none) -%}
  {%- if not params -%}
    {{ log("refill: var refill_audit is not set: the month of " ~ target_relation ~ " is published without an audit", info=True) }}
    {{ return(none) }}
  {%- endif -%}
  {%- set spec = (params.get('models') or {}).get(model.name) -%}
  {%- if spec is none -%}
    {{ exceptions.raise_compiler_error("refill audit: var refill_audit has no entry for model " ~ model.name) }}
  {%- endif -%}
  {%- set keys = spec.get('keys') or [] -%}
  {%- if keys | length == 0 -%}
    {{ exceptions.raise_compiler_error("refill audit: no key for model " ~ model.name ~ " (argument keys: the unique_key or ORDER BY)") }}
  {%- endif -%}
  {%- set window_start = refill._month_start(window_start, 'window_start') -%}
  {%- set window_end = refill._month_start(window_end, 'window_end') -%}
  {%- set date_column = refill._name(spec.get('date_column'), 'date_column') -%}
  {%- set price_columns = spec.get('price_columns') or [] -%}
  {%- set gap_days = [] -%}
  {%- for day in params.get('gap_days') or [] -%}{%- do gap_days.append(refill._date(day, 'gap_days')) -%}{%- endfor -%}
  {%- set keys_explained_on_gap_days = spec.get('key_price_derived') or spec.get('rows_depend_on_prices') -%}
  {%- set rows_depend = spec.get('rows_depend_on_prices') -%}

  {%- set key_sql = 'tuple(' ~ keys | join(', ') ~ ')' -%}
  {%- set day_sql = 'toDate(' ~ refill._quote(date_column) ~ ')' -%}
  {%- set window_sql = 'toStartOfMonth(' ~ day_sql ~ ") BETWEEN toDate('" ~ window_start ~ "') AND toDate('" ~ window_end ~ "')" -%}
  {%- set gap_values = [] -%}
  {%- for day in gap_days -%}{%- do gap_values.append("toDate('" ~ day ~ "')") -%}{%- endfor -%}
  {%- set final = ' FINAL' if 'replacing' in (config.get('engine') or '') | lower else '' -%}

  {#- columns: numeric ones get sums; floats compare with a relative tolerance of 1e-9, since a
      sum over parts merged in another order may differ in the last bit -#}
  {%- set compared, numeric, skipped = [], [], [] -%}
  {%- for column in adapter.get_columns_in_relation(staging_relation) -%}
    {%- set base = column.dtype | replace('LowCardinality(', '') | replace('Nullable(', '') -%}
    {%- set quoted = refill._quote(column.name) -%}
    {%- if base.startswith('AggregateFunction') or base.startswith('SimpleAggregateFunction') -%}
      {%- do skipped.append(column.name) -%}
    {%- else -%}
      {%- if base.startswith('Float') -%}
        {%- set equal = 'l.' ~ quoted ~ ' = s.' ~ quoted ~ ' OR abs(l.' ~ quoted ~ ' - s.' ~ quoted ~ ') <= 1e-9 * greatest(abs(l.' ~ quoted ~ '), abs(s.' ~ quoted ~ ')) OR (isNaN(l.' ~ quoted ~ ') AND isNaN(s.' ~ quoted ~ '))' -%}
      {%- elif base.startswith(('Int', 'UInt', 'Decimal', 'String', 'FixedString', 'Date', 'UUID', 'Enum', 'Bool', 'IPv')) -%}
        {%- set equal = 'l.' ~ quoted ~ ' = s.' ~ quoted -%}
      {%- else -%}
        {%- set equal = 'toString(l.' ~ quoted ~ ') = toString(s.' ~ quoted ~ ')' -%}
      {%- endif -%}
      {%- do compared.append({'name': column.name, 'type': column.dtype, 'quoted': quoted,
            'changed': 'NOT ifNull(' ~ equal ~ ', isNull(l.' ~ quoted ~ ') AND isNull(s.' ~ quoted ~ '))'}) -%}
      {%- if base.startswith(('Int', 'UInt', 'Float', 'Decimal')) -%}{%- do numeric.append(column.name) -%}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}

  {%- set sides = {'live': target_relation, 'staged': staging_relation} -%}
  {%- set counts_sql -%}
    {%- for side, relation in sides.items() %}
    SELECT {{ refill._string_literal(side) }} AS __refill_side, count() AS __refill_rows, uniqExact({{ key_sql }}) AS __refill_keys
      {%- for name in numeric %}, toString(sum({{ refill._quote(name) }})) AS __refill_s{{ loop.index0 }}{% endfor %}
    FROM {{ relation }} WHERE {{ window_sql }}
    {{ 'UNION ALL' if not loop.last }}
    {%- endfor %}
  {%- endset -%}
  {%- set totals = {} -%}
  {%- for row in run_query(counts_sql).rows -%}
    {%- set sums = {} -%}
    {%- for name in numeric -%}{%- do sums.update({name: row['__refill_s' ~ loop.index0]}) -%}{%- endfor -%}
    {%- do totals.update({row['__refill_side']: {'rows': row['__refill_rows'] | int, 'keys': row['__refill_keys'] | int, 'sums': sums}}) -%}
  {%- endfor -%}

  {%- set keys_sql -%}
    SELECT __refill_side, toString(__refill_day) AS __refill_day_text, uniqExact(__refill_key) AS __refill_keys,
           {{ ('__refill_day IN (' ~ gap_values | join(', ') ~ ')') if gap_values else '0' }} AS __refill_in_gap,
           arrayStringConcat(groupUniqArray(5)(__refill_key_text), ' | ') AS __refill_sample
    FROM (
    {%- for side, relation in sides.items() %}
      {%- set other = sides['staged' if side == 'live' else 'live'] %}
      SELECT {{ refill._string_literal(side) }} AS __refill_side, cityHash64({{ key_sql }}) AS __refill_key,
             toString({{ key_sql }}) AS __refill_key_text, {{ day_sql }} AS __refill_day
      FROM {{ relation }}
      WHERE {{ window_sql }} AND cityHash64({{ key_sql }}) NOT IN (SELECT cityHash64({{ key_sql }}) FROM {{ other }} WHERE {{ window_sql }})
      {{ 'UNION ALL' if not loop.last }}
    {%- endfor %}
    )
    GROUP BY __refill_side, __refill_day ORDER BY __refill_side, __refill_day
  {%- endset -%}
  {%- set key_days = {'live': [], 'staged': []} -%}
  {%- for row in run_query(keys_sql).rows -%}
    {%- do key_days[row['__refill_side']].append({'day': row['__refill_day_text'], 'keys': row['__refill_keys'] | int,
          'in_gap': (row['__refill_in_gap'] | int) == 1, 'sample': row['__refill_sample']}) -%}
  {%- endfor -%}

  {%- set columns = [] -%}
  {%- if compared -%}
    {%- set gap_sql = ('l.__refill_day IN (' ~ gap_values | join(', ') ~ ')') if gap_values else '0' -%}
    {%- set changes_sql -%}
      SELECT count() AS __refill_matched
      {%- for c in compared %},
        countIf({{ c.changed }}) AS __refill_c{{ loop.index0 }},
        countIf(({{ c.changed }}) AND NOT {{ gap_sql }}) AS __refill_o{{ loop.index0 }},
        toString(minIf(l.__refill_day, {{ c.changed }})) AS __refill_f{{ loop.index0 }},
        toString(maxIf(l.__refill_day, {{ c.changed }})) AS __refill_t{{ loop.index0 }},
        arrayStringConcat(groupUniqArrayIf(3)(l.__refill_key_text, {{ c.changed }}), ' | ') AS __refill_e{{ loop.index0 }}
      {%- endfor %}
      FROM (
        SELECT cityHash64({{ key_sql }}) AS __refill_key, toString({{ key_sql }}) AS __refill_key_text, {{ day_sql }} AS __refill_day, *
        FROM {{ target_relation }}{{ final }} WHERE {{ window_sql }} LIMIT 1 BY __refill_key
      ) AS l
      INNER JOIN (
        SELECT cityHash64({{ key_sql }}) AS __refill_key, *
        FROM {{ staging_relation }}{{ final }} WHERE {{ window_sql }} LIMIT 1 BY __refill_key
      ) AS s USING (__refill_key)
    {%- endset -%}
    {%- set row = run_query(changes_sql).rows[0] -%}
    {%- for c in compared -%}
      {%- do columns.append({'name': c.name, 'type': c.type, 'price_derived': c.name | lower in price_columns,
            'changed': row['__refill_c' ~ loop.index0] | int, 'changed_outside_gap': row['__refill_o' ~ loop.index0] | int,
            'first_day': row['__refill_f' ~ loop.index0] if (row['__refill_c' ~ loop.index0] | int) > 0 else none,
            'last_day': row['__refill_t' ~ loop.index0] if (row['__refill_c' ~ loop.index0] | int) > 0 else none,
            'sample': row['__refill_e' ~ loop.index0],
            'sum_live': (totals.get('live') or {}).get('sums', {}).get(c.name),
            'sum_staged': (totals.get('staged') or {}).get('sums', {}).get(c.name)}) -%}
    {%- endfor -%}
  {%- endif -%}

  {#- the verdict -#}
  {%- set unexplained = [] -%}
  {%- for side in ['live', 'staged'] -%}
    {%- for in_gap in [false, true] if not (in_gap and keys_explained_on_gap_days) -%}
      {%- set bad = key_days[side] | selectattr('in_gap', 'equalto', in_gap) | list -%}
      {%- if bad -%}
        {%- set ns = namespace(n=0) -%}
        {%- for entry in bad -%}{%- set ns.n = ns.n + entry['keys'] -%}{%- endfor -%}
        {%- do unexplained.append(ns.n ~ ' key(s) only ' ~ ('in live (vanished)' if side == 'live' else 'in the recompute (new)')
              ~ ' on ' ~ bad[0]['day'] ~ ('..' ~ bad[-1]['day'] if bad | length > 1 else '') ~ ' (' ~ bad | length ~ ' day(s), '
              ~ ('gap days, but no key column derives from prices' if in_gap else 'outside the gap')
              ~ '), e.g. ' ~ bad[0]['sample']) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- for c in columns -%}
    {%- if c.changed > 0 and not c.price_derived and (not rows_depend or c.changed_outside_gap > 0) -%}
      {%- set n = c.changed_outside_gap if rows_depend else c.changed -%}
      {%- do unexplained.append('column ' ~ c.name ~ ' (not price-derived) changed in ' ~ n ~ ' row(s) on '
            ~ c.first_day ~ '..' ~ c.last_day ~ ', e.g. ' ~ c.sample) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set verdict = 'refused' if unexplained else 'published' -%}

  {%- set live_keys, staged_keys = [], [] -%}
  {%- set ns = namespace(live=0, staged=0) -%}
  {%- for entry in key_days['live'] -%}{%- set ns.live = ns.live + entry['keys'] -%}{%- endfor -%}
  {%- for entry in key_days['staged'] -%}{%- set ns.staged = ns.staged + entry['keys'] -%}{%- endfor -%}
  {%- set changed_names = [] -%}
  {%- for c in columns if c.changed > 0 -%}{%- do changed_names.append(c.name) -%}{%- endfor -%}
  {%- set detail = {
      'model': model.name, 'relation': target_relation | string, 'staging_relation': staging_relation | string,
      'month': window_start | string, 'window_end': window_end | string, 'verdict': verdict,
      'keys': keys, 'date_column': date_column, 'price_columns': price_columns,
      'key_price_derived': spec.get('key_price_derived') or false, 'rows_depend_on_prices': rows_depend or false,
      'rows': {'live': (totals.get('live') or {}).get('rows', 0), 'staged': (totals.get('staged') or {}).get('rows', 0)},
      'distinct_keys': {'live': (totals.get('live') or {}).get('keys', 0), 'staged': (totals.get('staged') or {}).get('keys', 0)},
      'keys_only_live': key_days['live'], 'keys_only_staged': key_days['staged'],
      'columns': columns, 'columns_not_compared': skipped, 'unexplained': unexplained} -%}
  {%- set audit_table = refill._table(target.schema, 'refill_audit') -%}
  {%- call statement('refill_audit_table') -%}
    CREATE TABLE IF NOT EXISTS {{ audit_table }}{{ refill._on_cluster() }} (
      run_id String, model String, month Date, audited_at DateTime64(3) DEFAULT now64(3),
      verdict LowCardinality(String), rows_live UInt64, rows_staged UInt64,
      keys_only_live UInt64, keys_only_staged UInt64, columns_changed Array(String),
      unexplained Array(String), detail String
    ) ENGINE = MergeTree ORDER BY (run_id, month, model, audited_at)
  {%- endcall -%}
  {%- call statement('refill_audit_record') -%}
    INSERT INTO {{ audit_table }} (run_id, model, month, verdict, rows_live, rows_staged, keys_only_live, keys_only_staged,
                                   columns_changed, unexplained, detail)
    VALUES ({{ refill._string_literal(params.get('run_id') or '') }}, {{ refill._string_literal(model.name) }},
            toDate('{{ window_start }}'), {{ refill._string_literal(verdict) }}, {{ detail.rows.live }}, {{ detail.rows.staged }},
            {{ ns.live }}, {{ ns.staged }}, [{{ refill._literal_list(changed_names) }}], [{{ refill._literal_list(unexplained) }}],
            {{ refill._string_literal(tojson(detail)) }})
  {%- endcall -%}
  {%- if unexplained -%}
    {{ exceptions.raise_compiler_error("refill audit refused " ~ model.name ~ " month " ~ window_start ~ ": "
        ~ unexplained | join('; ') ~ ". Nothing of this month was published; the recompute is kept in " ~ staging_relation) }}
  {%- endif -%}
  {{ return(detail) }}
{% endmacro %}
