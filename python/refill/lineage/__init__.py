"""What derives from the prices model: column lineage over compiled SQL, each model's grain and
key, the plan's lineage scan, the materialized views' target months, and the audit before
publish that holds a cohort month to what the lineage lets change.
"""
