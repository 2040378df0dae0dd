"""Hazards the runbook and the observability views are about, produced on a lab warehouse
with the engine's own statements (never by writing system tables)."""

from __future__ import annotations

import time


def poison_mutation(client, schema: str, table: str) -> None:
    """What a delete+insert killed half-way leaves: a DELETE whose IN subquery reads a table
    that is gone. It fails, stays not done and not killed, and blocks every later mutation
    of the table (Code 341). Merges are stopped until the source is dropped, so the
    mutation cannot run (and succeed) first."""
    client.command(f"CREATE TABLE {schema}.{table}__gone (date Date) ENGINE = MergeTree ORDER BY date")
    client.command(f"SYSTEM STOP MERGES {schema}.{table}")
    client.command(f"ALTER TABLE {schema}.{table} DELETE WHERE date IN (SELECT date FROM {schema}.{table}__gone)",
                   settings={"mutations_sync": 0})
    client.command(f"DROP TABLE {schema}.{table}__gone SYNC")
    client.command(f"SYSTEM START MERGES {schema}.{table}")
    deadline = time.monotonic() + 30
    while not client.query(f"SELECT count() FROM system.mutations WHERE database = '{schema}' AND table = '{table}'"
                           " AND NOT is_done AND latest_fail_reason != ''").result_rows[0][0]:
        assert time.monotonic() < deadline, "the mutation never failed"
        time.sleep(0.1)
