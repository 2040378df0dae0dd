"""Hazards the runbook, the observability views and the failure-mode tests are about,
produced with the engine's own statements (never by writing system tables)."""

from __future__ import annotations

import time


def poison_mutation(target, schema: str, table: str, column: str = "date", column_type: str = "Date") -> None:
    """What a delete+insert killed half-way leaves: a DELETE whose IN subquery reads a table
    that is gone. It fails, stays not done and not killed, and blocks every later mutation
    of the table (Code 341). Merges are stopped until the source is dropped, so the
    mutation cannot run (and succeed) first.

    ``target`` is a clickhouse-connect client or a ``refill.engine.warehouse.Warehouse``.
    """
    execute, _ = _statements(target)
    source = f"{schema}.{table}__dbt_new_data_gone"
    execute(f"CREATE TABLE {source} ({column} {column_type}) ENGINE = MergeTree ORDER BY tuple()")
    execute(f"SYSTEM STOP MERGES {schema}.{table}")
    execute(f"ALTER TABLE {schema}.{table} DELETE WHERE {column} IN (SELECT {column} FROM {source})",
            {"mutations_sync": 0})
    execute(f"DROP TABLE {source} SYNC")
    execute(f"SYSTEM START MERGES {schema}.{table}")
    deadline = time.monotonic() + 30
    while not failed_mutations(target, schema, table):
        assert time.monotonic() < deadline, "the mutation never failed"
        time.sleep(0.1)


def failed_mutations(target, schema: str, table: str) -> list[str]:
    """Ids of the table's mutations that are not done and have failed at least once."""
    _, rows = _statements(target)
    return [r[0] for r in rows(f"SELECT mutation_id FROM system.mutations WHERE database = '{schema}' "
                               f"AND table = '{table}' AND NOT is_done AND latest_fail_reason != ''")]


def _statements(target):
    if hasattr(target, "command"):  # a clickhouse-connect client
        return (lambda sql, settings=None: target.command(sql, settings=settings or {}),
                lambda sql: target.query(sql).result_rows)
    return (lambda sql, settings=None: target.execute(sql, settings=settings), target.rows)
