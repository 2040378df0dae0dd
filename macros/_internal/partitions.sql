{#-
  Which partitions hold month M: the one definition, read from the partition key.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#-
  The top-level elements of a table's partition key as system.tables.partition_key
  prints it (ClickHouse's own formatting): '(toYYYYMM(date), chain)' -> ['toYYYYMM(date)',
  'chain'], 'toStartOfMonth(date)' -> ['toStartOfMonth(date)'], '' or 'tuple()' -> [].
  Commas inside calls and quoted literals ('Asia/Tokyo', `odd, name`) do not split.
-#}
{% macro _split_partition_key(partition_key) %}
  {%- set text = (partition_key or '') | trim -%}
  {%- if text.startswith('tuple(') -%}{%- set text = text[5:] -%}{%- endif -%}
  {%- if text in ('', '()') -%}{{ return([]) }}{%- endif -%}
  {%- set scan = namespace(depth=0, quote='', escaped=false, close=-1, cuts=[]) -%}
  {%- for i in range(text | length) -%}
    {%- set ch = text[i] -%}
    {%- if scan.escaped -%}
      {%- set scan.escaped = false -%}
    {%- elif scan.quote -%}
      {%- if ch == '\\' -%}{%- set scan.escaped = true -%}{%- elif ch == scan.quote -%}{%- set scan.quote = '' -%}{%- endif -%}
    {%- elif ch in ["'", '`', '"'] -%}
      {%- set scan.quote = ch -%}
    {%- elif ch == '(' -%}
      {%- set scan.depth = scan.depth + 1 -%}
    {%- elif ch == ')' -%}
      {%- set scan.depth = scan.depth - 1 -%}
      {%- if scan.depth == 0 and scan.close < 0 -%}{%- set scan.close = i -%}{%- endif -%}
    {%- elif ch == ',' and scan.depth == 1 -%}
      {%- set scan.cuts = scan.cuts + [i] -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not (text.startswith('(') and scan.close == (text | length) - 1) -%}
    {{ return([text]) }}
  {%- endif -%}
  {%- if not scan.cuts -%}
    {#- one parenthesised expression, as dbt-clickhouse writes PARTITION BY (…) -#}
    {{ return(refill._split_partition_key(text[1:-1])) }}
  {%- endif -%}
  {%- set bounds = [0] + scan.cuts + [scan.close] -%}
  {%- set elements = [] -%}
  {%- for i in range(bounds | length - 1) -%}
    {%- do elements.append(text[bounds[i] + 1:bounds[i + 1]] | trim) -%}
  {%- endfor -%}
  {{ return(elements) }}
{% endmacro %}

{#-
  How a partition key places its partitions in months, from the key's top-level
  elements (see _split_partition_key) and their result types (ClickHouse's DESCRIBE):
  {'element': index of the element that names the month, 'kind': how its value reads as
  a month ('date': a Date/DateTime value, its month in its own time zone; 'yyyymm';
  'yyyymmdd'), 'grain': 'month' or 'day', 'problem': none} or {'problem': why not}.

  Why the key and not system.parts' min_date/min_time: those are filled only for a
  plain Date or DateTime key column (1970-01-01 for Date32, Nullable(Date) or an epoch
  UInt32) and are printed in the server's time zone, so a Tokyo month starts on the
  previous UTC day. The partition value is what ClickHouse itself filed the rows under.

  A key coarser than a month (toYear, toStartOfQuarter, toMonth's month-of-year) or not
  aligned with months (weeks straddle them) has no partition that is exactly a month:
  replacing it would replace other months too, so there is no rule, only a problem.
-#}
{% macro _partition_month_rule(elements, types) %}
  {%- set months = {'toStartOfMonth': 'date', 'toYYYYMM': 'yyyymm'} -%}
  {%- set days = {'toYYYYMMDD': 'yyyymmdd', 'toDate': 'date', 'toDate32': 'date', 'toDateTime': 'date',
                  'toDateTime64': 'date', 'toStartOfDay': 'date', 'toStartOfHour': 'date',
                  'toStartOfFifteenMinutes': 'date', 'toStartOfTenMinutes': 'date',
                  'toStartOfFiveMinutes': 'date', 'toStartOfMinute': 'date', 'toStartOfSecond': 'date'} -%}
  {%- set coarser = ['toYear', 'toStartOfYear', 'toISOYear', 'toStartOfISOYear', 'toQuarter', 'toStartOfQuarter',
                     'toMonth', 'toRelativeYearNum', 'toRelativeQuarterNum'] -%}
  {%- set weekly = ['toMonday', 'toStartOfWeek', 'toLastDayOfWeek', 'toISOWeek', 'toWeek', 'toYearWeek', 'toRelativeWeekNum'] -%}
  {%- if elements | length == 0 -%}
    {{ return({'problem': 'the table is not partitioned, so a month is not a partition'}) }}
  {%- endif -%}
  {%- set found = [] -%}
  {%- set refused = [] -%}
  {%- for element in elements -%}
    {%- set type = (types[loop.index0] or '') | replace('LowCardinality(', '') | replace('Nullable(', '') -%}
    {%- set is_date = type.startswith('Date') -%}
    {%- set call = modules.re.match('^([A-Za-z0-9_]+) *[(]', element) -%}
    {%- set name = call.group(1) if call else none -%}
    {%- if name in months and (is_date or months[name] != 'date') -%}
      {%- do found.append({'element': loop.index0, 'kind': months[name], 'grain': 'month', 'problem': none}) -%}
    {%- elif name in days and (is_date or days[name] != 'date') -%}
      {%- do found.append({'element': loop.index0, 'kind': days[name], 'grain': 'day', 'problem': none}) -%}
    {%- elif name is none and is_date -%}
      {%- do found.append({'element': loop.index0, 'kind': 'date', 'grain': 'day', 'problem': none}) -%}
    {%- elif name in coarser -%}
      {%- do refused.append(element ~ ' is coarser than a month: a partition holds several months, and swapping it would replace them all') -%}
    {%- elif name in weekly -%}
      {%- do refused.append(element ~ ' is a week, and a week partition straddles two months') -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if found | length == 1 -%}
    {{ return(found[0]) }}
  {%- elif found | length > 1 -%}
    {{ return({'problem': 'more than one element names a day or a month (' ~ elements | join(', ') ~ '), so the month of a partition is ambiguous'}) }}
  {%- elif refused -%}
    {{ return({'problem': refused[0]}) }}
  {%- endif -%}
  {{ return({'problem': 'no element is a month (toStartOfMonth, toYYYYMM), a day (toDate, toYYYYMMDD, toStartOfDay, a date column) or finer, so refill cannot tell which month a partition holds'}) }}
{% endmacro %}

{#-
  An SQL expression: the month (Nullable(Date32), its first day: Date32 keeps months
  before 1970) of `value_sql`, a value of a partition key element of `kind` (see
  _partition_month_rule). A DateTime's month is taken in the value's own time zone, which
  is the zone ClickHouse partitioned it in.
-#}
{% macro _month_of_sql(value_sql, kind) %}
  {%- if kind == 'date' -%}
    {#- not toStartOfMonth: it returns a Date, which clamps a Date32 before 1970 to 1970-01-01 -#}
    {{ return("CAST(addDays(toDate32(" ~ value_sql ~ "), 1 - toDayOfMonth(" ~ value_sql ~ ")), 'Nullable(Date32)')") }}
  {%- elif kind == 'yyyymm' -%}
    {{ return("CAST(makeDate32(intDiv(" ~ value_sql ~ ", 100), (" ~ value_sql ~ ") % 100, 1), 'Nullable(Date32)')") }}
  {%- elif kind == 'yyyymmdd' -%}
    {{ return("CAST(makeDate32(intDiv(" ~ value_sql ~ ", 10000), intDiv(" ~ value_sql ~ ", 100) % 100, 1), 'Nullable(Date32)')") }}
  {%- endif -%}
  {{ exceptions.raise_compiler_error("refill: _month_of_sql: unknown kind '" ~ kind ~ "'") }}
{% endmacro %}

{#-
  The one definition of "the partitions of month M" of a table, read from the engine:
  none when the table does not exist, else {'table', 'partition_key', 'problem' (none or
  why refill cannot place the table's partitions in months), and when there is no
  problem: 'part_month' (SQL over a system.parts row: the month its `partition` value
  names) and 'row_month' (SQL over a row of the table: the month the key files it under)}.

  The partition value is read back typed: system.parts prints it as text, which
  CAST(partition, <the key's DESCRIBE type>) parses exactly as ClickHouse wrote it (a
  Tokyo DateTime in Tokyo time, a Nullable key's NULL as NULL). 'row_month' evaluates
  the same key element on rows, so a caller can check that no row of a month lies
  outside the partitions found for it.
-#}
{% macro _partition_months(database, table) %}
  {%- set found = run_query(
      "SELECT any(partition_key) FROM " ~ refill._system_table('tables')
      ~ " WHERE database = " ~ refill._string_literal(database) ~ " AND name = " ~ refill._string_literal(table)
      ~ " HAVING count() > 0") -%}
  {%- if found.rows | length == 0 -%}{{ return(none) }}{%- endif -%}
  {%- set partition_key = found.rows[0][0] or '' -%}
  {%- set elements = refill._split_partition_key(partition_key) -%}
  {%- set types = [] -%}
  {%- if elements -%}
    {%- for row in run_query("DESCRIBE (SELECT " ~ elements | join(', ') ~ " FROM " ~ refill._table(database, table) ~ ")").rows -%}
      {%- do types.append(row[1]) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set rule = refill._partition_month_rule(elements, types) -%}
  {%- set result = {'table': table, 'partition_key': partition_key, 'problem': rule.problem} -%}
  {%- if rule.problem is none -%}
    {%- if elements | length == 1 -%}
      {%- set value = "CAST(partition, " ~ refill._string_literal(types[0]) ~ ")" -%}
    {%- else -%}
      {%- set value = "tupleElement(CAST(partition, " ~ refill._string_literal('Tuple(' ~ types | join(', ') ~ ')') ~ "), " ~ (rule.element + 1) ~ ")" -%}
    {%- endif -%}
    {%- do result.update({'part_month': refill._month_of_sql(value, rule.kind),
                          'row_month': refill._month_of_sql('(' ~ elements[rule.element] ~ ')', rule.kind)}) -%}
  {%- endif -%}
  {{ return(result) }}
{% endmacro %}

{#-
  The scan behind month_partitions_query: rows (table_name, month, partition_id, rows)
  for {table: SQL of a system.parts row's month (see _partition_months)} and the months.
-#}
{% macro _month_partitions_sql(database, part_months, months) %}
  {%- set month_values = [] -%}
  {%- for month in months -%}{%- do month_values.append("toDate('" ~ month ~ "')") -%}{%- endfor -%}
  {%- set selects = [] -%}
  {%- for table, part_month in part_months.items() | sort -%}
    {#- DISTINCT name: on a cluster system.parts lists each part once per replica -#}
    {%- do selects.append(
        "SELECT table AS table_name, month, partition_id, sum(rows) AS rows FROM ("
        ~ " SELECT DISTINCT table, partition_id, name, rows, " ~ part_month ~ " AS month"
        ~ " FROM " ~ refill._system_table('parts')
        ~ " WHERE active AND database = " ~ refill._string_literal(database) ~ " AND table = " ~ refill._string_literal(table)
        ~ ") WHERE month IN (" ~ month_values | join(', ') ~ ") GROUP BY table_name, month, partition_id") -%}
  {%- endfor -%}
  {%- if not selects -%}
    {{ return("SELECT '' AS table_name, CAST(NULL, 'Nullable(Date32)') AS month, '' AS partition_id, toUInt64(0) AS rows WHERE 0") }}
  {%- endif -%}
  {#- ORDER BY after UNION ALL would bind to the last SELECT only. -#}
  {{ return('SELECT * FROM (\n' ~ selects | join('\nUNION ALL\n') ~ '\n)\nORDER BY table_name, month, partition_id') }}
{% endmacro %}

{#-
  Rows of `table` that its partition key files under one of `months` but that lie in
  none of `partition_ids`: 0 unless the partitions found for the months are wrong. The
  check after every "which partitions hold month M" that is about to copy or replace
  them: a month found in too few partitions would otherwise copy nothing, or swap
  nothing, and report success (issue #12: a Date32 month backed up as 0 partitions).
  Reads the key's columns of those months only (the key prunes the other partitions).
-#}
{% macro _rows_outside_partitions(database, table, months, partition_ids) %}
  {%- set key = refill._partition_months(database, table) -%}
  {%- if key is none or key.problem -%}{{ return(0) }}{%- endif -%}
  {%- set month_values = [] -%}
  {%- for month in months -%}{%- do month_values.append("toDate('" ~ month ~ "')") -%}{%- endfor -%}
  {%- set outside = (" AND _partition_id NOT IN (" ~ refill._literal_list(partition_ids) ~ ")") if partition_ids else "" -%}
  {%- set found = run_query("SELECT count() FROM " ~ refill._table(database, table)
      ~ " WHERE " ~ key.row_month ~ " IN (" ~ month_values | join(', ') ~ ")" ~ outside) -%}
  {{ return(found.rows[0][0] | int) }}
{% endmacro %}

{#-
  A compiler error when a table holds rows of `months` outside `partition_ids` (see
  _rows_outside_partitions): `action` ('swapped', 'backed up', 'restored') says what
  was then not done.
-#}
{% macro _check_month_partitions(database, tables, months, partition_ids, action) %}
  {%- for table in tables -%}
    {%- set outside = refill._rows_outside_partitions(database, table, months, partition_ids) -%}
    {%- if outside > 0 -%}
      {{ exceptions.raise_compiler_error("refill: " ~ refill._table(database, table) ~ " holds " ~ outside ~ " row(s) of months "
          ~ months | join(', ') ~ " outside the partitions found for them (" ~ (partition_ids | join(', ') or 'none')
          ~ "); nothing was " ~ action) }}
    {%- endif -%}
  {%- endfor -%}
{% endmacro %}
