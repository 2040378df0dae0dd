{#-
  Argument validation: each helper returns the argument normalised or raises a compiler error
  naming it, so a bad input never reaches SQL.
  Private helpers (not dispatched): call them with the package prefix, `refill._quote(…)`.
-#}

{#- None -> [], a string -> [string], a list -> itself: arguments that take one item or several. -#}
{% macro _as_list(value) %}
  {%- if value is none -%}
    {{ return([]) }}
  {%- elif value is string or value is number -%}
    {{ return([value]) }}
  {%- elif value is iterable and value is not mapping -%}
    {{ return(value | list) }}
  {%- endif -%}
  {{ return([value]) }}
{% endmacro %}

{#-
  A database, table or column name. Anything a ClickHouse name can hold is accepted
  (it is always back-quoted), but not an empty or non-string value, and not control
  characters, which are never a real name and usually a templating mistake.
-#}
{% macro _name(value, argument_name) %}
  {%- if value is none or value is not string or (value | trim) == '' -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be a non-empty name, got '" ~ value ~ "'") }}
  {%- endif -%}
  {%- if modules.re.search('[\\x00-\\x1f]', value) -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " contains a control character: '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(value) }}
{% endmacro %}

{#- One name or a list of names (tables, columns) -> a de-duplicated list of non-empty strings. -#}
{% macro _name_list(value, argument_name, required=true) %}
  {%- set names = [] -%}
  {%- for item in refill._as_list(value) -%}
    {%- set name = refill._name(item, argument_name) -%}
    {%- if name not in names -%}{%- do names.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- if required and names | length == 0 -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " needs at least one name") }}
  {%- endif -%}
  {{ return(names) }}
{% endmacro %}

{#- A date argument as 'YYYY-MM-DD' (a real calendar day), or a compiler error naming the argument. -#}
{% macro _date(value, argument_name) %}
  {%- set text = value | string | trim -%}
  {%- set valid = modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', text) is not none -%}
  {%- if valid -%}
    {%- set parts = text.split('-') | map('int') | list -%}
    {%- set leap = (parts[0] % 4 == 0 and parts[0] % 100 != 0) or parts[0] % 400 == 0 -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- set valid = 1 <= parts[1] <= 12 and 1 <= parts[2] <= month_days[parts[1] - 1] -%}
  {%- endif -%}
  {%- if not valid -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be a date (YYYY-MM-DD), got '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(text) }}
{% endmacro %}

{#- A month argument: the first day of a month as 'YYYY-MM-01', or a compiler error naming the argument. -#}
{% macro _month_start(value, argument_name) %}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.match('^\\d{4}-\\d{2}-01$', text) -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be the first day of a month (YYYY-MM-01), got '" ~ value ~ "'") }}
  {%- endif -%}
  {%- do refill._date(text, argument_name) -%}
  {{ return(text) }}
{% endmacro %}

{#- One month or a list of months -> the sorted, de-duplicated list of validated 'YYYY-MM-01'. -#}
{% macro _month_list(value, argument_name) %}
  {%- set items = refill._as_list(value) -%}
  {%- if items | length == 0 -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " needs at least one month (YYYY-MM-01)") }}
  {%- endif -%}
  {%- set months = [] -%}
  {%- for item in items -%}
    {%- set month = refill._month_start(item, argument_name) -%}
    {%- if month not in months -%}{%- do months.append(month) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(months | sort) }}
{% endmacro %}

{#- ['YYYY-MM-01', …]: every month from `first` to `last` (both 'YYYY-MM-01'), in order. -#}
{% macro _months_between(first, last) %}
  {%- set a = modules.datetime.date.fromisoformat(first | string) -%}
  {%- set b = modules.datetime.date.fromisoformat(last | string) -%}
  {%- set months = [] -%}
  {%- for i in range((b.year - a.year) * 12 + b.month - a.month + 1) -%}
    {%- do months.append(modules.datetime.date(a.year + (a.month - 1 + i) // 12, (a.month - 1 + i) % 12 + 1, 1).isoformat()) -%}
  {%- endfor -%}
  {{ return(months) }}
{% endmacro %}

{% macro _non_negative_int(value, argument_name) %}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.match('^[0-9]+$', text) -%}
    {{ exceptions.raise_compiler_error("refill: " ~ argument_name ~ " must be a non-negative integer (bytes), got '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(text | int) }}
{% endmacro %}

{#- A ratio threshold: a number above 1 (its inverse is the lower bound). -#}
{% macro _threshold(value) %}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.match('^[0-9]+(\\.[0-9]+)?$', text) or (text | float) <= 1 -%}
    {{ exceptions.raise_compiler_error("refill: threshold must be a number above 1 (e.g. 1.5), got '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(text) }}
{% endmacro %}
