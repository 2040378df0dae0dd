{#-
  The comment that marks a backup twin and records which months it holds. A month with
  no rows in the source at backup time is recorded too: restoring it must leave the
  month empty, and only this record tells it apart from a month never backed up.
-#}
{% macro _backup_comment(table_name, suffix, months) %}
  {{ return('refill backup of ' ~ table_name ~ '; suffix=' ~ suffix ~ '; months=' ~ months | sort | join(',')) }}
{% endmacro %}
