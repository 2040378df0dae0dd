{#-
  Fails for every partition whose row count differs from its number of distinct keys
  (count() = uniqExact(key) per partition): duplicates a reader without FINAL counts
  twice, whether from an append without a barrier or an unmerged ReplacingMergeTree.

  key: a column name, a list of column names, or omitted when the test is attached to
  a column. partition_by: an SQL expression naming the partition; default the table's
  physical partition (_partition_id), which a view or a `where`-filtered test cannot
  see, so give the expression there (e.g. 'toStartOfMonth(date)').
-#}
{% test unique_grain_per_partition(model, column_name=none, key=none, partition_by=none) %}
  {{ return(adapter.dispatch('test_unique_grain_per_partition', 'refill')(model, column_name, key, partition_by)) }}
{% endtest %}
