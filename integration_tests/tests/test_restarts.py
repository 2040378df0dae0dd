"""Swapped, backed-up and restored partitions stay as refill left them when the engine
crashes right after the ALTER and starts again (issue #12, kind 5).

On ClickHouse before 26.6 REPLACE PARTITION only marks the old parts outdated; until the
cleanup thread deletes them (seconds later, or when the last query reading them ends), a
crash or restart loads them again beside the new ones. Each test shows that with a
hand-written REPLACE on the engine it runs on, then the same crash after refill's macro.
CI runs this module on ClickHouse 26.x and on 25.8 LTS.
"""

from __future__ import annotations

import json
import os

import pytest

from macro_project import MacroProject, killed_at, rows_after_restart, server_version
from refill.engine import embedded as engine
from test_macros_swap import MODEL

pytestmark = [pytest.mark.engine, pytest.mark.ch258]

# A server's default (chDB's is 0), so the tables keep outdated parts as a server does.
SERVER_PARTS_LIFETIME = "SETTINGS old_parts_lifetime = 480"
MONTHS_SQL = "SELECT toString(toStartOfMonth(date)) AS m, count(), sum(v) FROM {table} GROUP BY m ORDER BY m"


def naive_replace_after_crash(project: MacroProject) -> tuple[int, int]:
    """(rows after a crash right after a hand-written REPLACE PARTITION, rows before)."""
    w = project.warehouse
    for table in ("naive", "naive_stage"):
        w.execute(f"CREATE TABLE macro_tests.{table} (date Date, v Int64) ENGINE = MergeTree ORDER BY date "
                  f"PARTITION BY toStartOfMonth(date) {SERVER_PARTS_LIFETIME}")
        w.execute(f"INSERT INTO macro_tests.{table} SELECT addDays(toDate('2026-04-01'), number % 30), number "
                  "FROM numbers(300)")
    project.close()
    (after,), = rows_after_restart(project.data_dir, "SELECT count() FROM macro_tests.naive", crash_after=(
        "ALTER TABLE macro_tests.naive REPLACE PARTITION '2026-04-01' FROM macro_tests.naive_stage"))
    return after, 300


def test_the_engine_under_test_is_the_one_ci_meant(tmp_path):
    """CI's 25.8 environment sets REFILL_EXPECT_CLICKHOUSE=25.8: a pip resolution that
    silently brought another chDB would otherwise pass these tests on the wrong engine."""
    client = engine.open_client(tmp_path / "chdb")
    try:
        version = tuple(int(part) for part in client.query("SELECT version()").result_rows[0][0].split("."))
    finally:
        client.close()
    expected = os.environ.get("REFILL_EXPECT_CLICKHOUSE")
    if expected:
        assert version[:2] == tuple(int(part) for part in expected.split(".")), version
    assert version >= (25, 8), f"refill supports ClickHouse 25.8 LTS and later, this is {version}"


def test_swapped_months_stay_swapped_after_a_crash(tmp_path):
    project = MacroProject(tmp_path)
    project.model("months", MODEL.replace("partition_by=", "settings={'old_parts_lifetime': 480}, partition_by="))
    project.parse({"start_month": "2026-02-01"})
    project.dbt("run", vars={"start_month": "2026-02-01", "end_month": "2026-04-01"}, reuse=True)
    built = {m: (n, s) for m, n, s in project.warehouse.rows(MONTHS_SQL.format(table="macro_tests.months"))}
    resurrects = server_version(project.warehouse) < (26, 6)
    after, before = naive_replace_after_crash(project)
    assert after == (2 * before if resurrects else before)

    # March recomputed x10, April's recompute empty; killed as the staging table is dropped
    april = ", ".join(f"'2026-04-{day:02d}'" for day in range(1, 31))
    swap_vars = {"start_month": "2026-03-01", "end_month": "2026-04-01", "factor": 10, "absent_days": april}
    killed_at(project, r"drop table if exists\s+\S*months__refill_stage", "run", "--vars", json.dumps(swap_vars))
    assert rows_after_restart(project.data_dir, MONTHS_SQL.format(table="macro_tests.months")) == [
        ["2026-02-01", *built["2026-02-01"]], ["2026-03-01", built["2026-03-01"][0], built["2026-03-01"][1] * 10]]


def test_restored_months_and_overwritten_backups_stay_so_after_a_restart(tmp_path):
    project = MacroProject(tmp_path)
    project.parse()
    w = project.warehouse
    w.execute("CREATE DATABASE bk")
    w.execute("CREATE TABLE bk.t (date Date, k Int64, v Int64) ENGINE = ReplacingMergeTree ORDER BY (date, k) "
              f"PARTITION BY toStartOfMonth(date) {SERVER_PARTS_LIFETIME}")
    w.execute("INSERT INTO bk.t SELECT addDays(toDate('2026-03-01'), intDiv(number, 3)), number % 3, number "
              "FROM numbers(61 * 3)")  # March and April
    backup = {"database": "bk", "tables": ["t"], "partitions": ["2026-03-01", "2026-04-01", "2026-05-01"]}
    project.operation("backup_partitions", {**backup, "suffix": "good"})
    project.operation("backup_partitions", {**backup, "suffix": "late"})
    original = w.rows(MONTHS_SQL.format(table="bk.t"))
    # what a bad refill leaves: April rows doubled in value beside the old ones, March gone, a May
    w.execute("INSERT INTO bk.t SELECT date, k, v * 2 FROM bk.t WHERE date >= '2026-04-10'")
    w.execute("ALTER TABLE bk.t DROP PARTITION '2026-03-01'")
    w.execute("INSERT INTO bk.t VALUES ('2026-05-02', 1, 1)")
    damaged = w.rows(MONTHS_SQL.format(table="bk.t"))
    project.close()
    # Each operation below is followed by an engine restart: with no other connection open,
    # the embedded engine stops when dbt closes its own, right after the copy's checks.
    # The twin `late` overwritten with the damaged months (its months replaced)…
    project.operation("backup_partitions", {**backup, "suffix": "late", "overwrite": True})
    # …and the table restored from `good` (its damaged parts replaced)
    project.operation("restore_partitions", {"database": "bk", "tables": ["t"], "suffix": "good"})

    assert rows_after_restart(project.data_dir, MONTHS_SQL.format(table="bk.t")) == [list(r) for r in original]
    assert rows_after_restart(project.data_dir, MONTHS_SQL.format(table="bk.t__refill_backup_late")) == [
        list(r) for r in damaged]


def test_a_swap_survives_a_crash_while_a_query_reads_the_old_parts(tmp_path):
    """Why refill does not REPLACE and then delete the old parts on 25.8: a query still
    reading them keeps them on disk. The swap must be safe with them there."""
    project = MacroProject(tmp_path)
    project.parse()
    w = project.warehouse
    for table in ("t", "t_stage"):
        w.execute(f"CREATE TABLE macro_tests.{table} (date Date, v Int64) ENGINE = MergeTree ORDER BY date "
                  f"PARTITION BY toStartOfMonth(date) {SERVER_PARTS_LIFETIME}")
    w.execute("INSERT INTO macro_tests.t SELECT addDays(toDate('2026-04-01'), number % 30), number FROM numbers(300)")
    w.execute("INSERT INTO macro_tests.t_stage SELECT addDays(toDate('2026-04-01'), number % 30), 1 FROM numbers(30)")
    # the statement refill sends to this server (run_query first: the version needs a connection)
    swap = project.compile_inline("{% do run_query('SELECT 1') %}"
                                  "{{ refill._replace_partitions_sql('macro_tests', 't', 't_stage', ['20260401']) }}")
    project.close()
    assert rows_after_restart(project.data_dir, MONTHS_SQL.format(table="macro_tests.t"),
                              crash_after=swap, while_reading="macro_tests.t") == [["2026-04-01", 30, 30]]
