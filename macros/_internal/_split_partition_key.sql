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
