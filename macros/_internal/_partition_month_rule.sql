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
