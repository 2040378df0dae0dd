"""backup_partitions / restore_partitions / drop_backups on the engine: months copied
aside, the table damaged, the months put back exactly (issue #3, item 6)."""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import MacroProject, server_version

pytestmark = [pytest.mark.engine, pytest.mark.ch258]

MARCH, APRIL, MAY = dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("backup"))
    project.parse()
    yield project
    project.close()


def _create(project, database, *tables):
    w = project.warehouse
    w.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    for table in tables:
        w.execute(
            f"CREATE TABLE {database}.{table} (date Date, k Int64, v Decimal(38, 6)) "
            "ENGINE = ReplacingMergeTree ORDER BY (date, k) PARTITION BY toStartOfMonth(date)"
        )
        w.execute(
            f"INSERT INTO {database}.{table} SELECT addDays(toDate('2026-01-01'), intDiv(number, 3)), "
            f"toInt64(number % 3), toDecimal128(number, 6) / 7 FROM numbers(120 * 3)"
        )


def checksums(project, database, table):
    """{month: (rows, checksum of every row)}: equal means the same rows, whatever the parts."""
    return {m: (n, h) for m, n, h in project.warehouse.rows(
        f"SELECT toStartOfMonth(date) AS m, count(), sum(cityHash64(date, k, v)) FROM {database}.{table} "
        "GROUP BY m ORDER BY m")}


def damage(project, database, table):
    """What a bad refill does: wrong values in April, March gone, a May that did not exist."""
    w = project.warehouse
    w.execute(f"INSERT INTO {database}.{table} SELECT date, k, v * 2 FROM {database}.{table} WHERE date >= '2026-04-10'")
    w.execute(f"ALTER TABLE {database}.{table} DELETE WHERE date = '2026-04-03'", settings={"mutations_sync": 2})
    w.execute(f"ALTER TABLE {database}.{table} DROP PARTITION '2026-03-01'")
    w.execute(f"INSERT INTO {database}.{table} VALUES ('2026-05-02', 1, 1)")


def test_backup_damage_restore_is_identical_and_idempotent(project):
    _create(project, "bk_cycle", "balances", "cohorts")
    tables = ["balances", "cohorts"]
    before = {t: checksums(project, "bk_cycle", t) for t in tables}
    months = ["2026-03-01", "2026-04-01", "2026-05-01"]  # May is empty: restoring it must empty it
    args = {"database": "bk_cycle", "tables": tables, "partitions": months, "suffix": "run_1"}

    run = project.operation("backup_partitions", args)
    assert "backed up `bk_cycle`.`balances` months 2026-03-01, 2026-04-01, 2026-05-01 (2 partition(s))" in run.text
    listed = project.show("{{ refill.backups_query('bk_cycle', 'run_1') }}")
    assert [(r["backup_table"], r["source_table"], r["months"]) for r in listed] == [
        ("balances__refill_backup_run_1", "balances", "2026-03-01,2026-04-01,2026-05-01"),
        ("cohorts__refill_backup_run_1", "cohorts", "2026-03-01,2026-04-01,2026-05-01"),
    ]

    for table in tables:
        damage(project, "bk_cycle", table)
        assert checksums(project, "bk_cycle", table) != before[table]
    # a re-run after the damage (say a resumed refill) must not overwrite the good copy
    again = project.operation("backup_partitions", args)
    assert "already holds 2026-03-01, 2026-04-01, 2026-05-01; kept" in again.text

    for attempt in (1, 2):
        run = project.operation("restore_partitions", {"database": "bk_cycle", "tables": tables, "suffix": "run_1"})
        # the first pass also empties the May the damage created: 3 partitions, then 2
        partitions = 3 if attempt == 1 else 2
        assert f"restored `bk_cycle`.`cohorts` months 2026-03-01, 2026-04-01, 2026-05-01 ({partitions} partition(s))" in run.text
        for table in tables:
            after = checksums(project, "bk_cycle", table)
            assert after == before[table], attempt
            assert MAY not in after

    project.operation("drop_backups", {"database": "bk_cycle", "tables": tables, "suffix": "run_1"})
    assert project.show("{{ refill.backups_query('bk_cycle') }}") == []
    assert project.warehouse.scalar("SELECT count() FROM system.tables WHERE database = 'bk_cycle'") == 2


def test_naive_copies_double_the_backup_and_cannot_restore_an_empty_month(project):
    _create(project, "bk_naive", "t")
    w = project.warehouse
    w.execute("CREATE TABLE bk_naive.t_copy AS bk_naive.t")
    for _ in range(2):  # a re-run of ATTACH PARTITION … FROM adds the rows again
        w.execute("ALTER TABLE bk_naive.t_copy ATTACH PARTITION '2026-04-01' FROM bk_naive.t")
    assert w.scalar("SELECT count() FROM bk_naive.t_copy") == 2 * checksums(project, "bk_naive", "t")[APRIL][0]
    w.execute("INSERT INTO bk_naive.t VALUES ('2026-05-02', 1, 1)")
    if server_version(w) >= (26, 6):
        with pytest.raises(Exception, match="has no parts in partition"):
            w.execute("ALTER TABLE bk_naive.t REPLACE PARTITION '2026-05-01' FROM bk_naive.t_copy")
    # (before 26.6 it runs, and a restart brings the month back: test_restarts.py)

    args = {"database": "bk_naive", "tables": "t", "partitions": ["2026-04-01", "2026-05-01"], "suffix": "s"}
    w.execute("ALTER TABLE bk_naive.t DROP PARTITION '2026-05-01'")
    before = checksums(project, "bk_naive", "t")
    project.operation("backup_partitions", args)
    project.operation("backup_partitions", {**args, "overwrite": True})
    assert w.scalar("SELECT count() FROM bk_naive.t__refill_backup_s") == before[APRIL][0]
    w.execute("INSERT INTO bk_naive.t VALUES ('2026-05-02', 1, 1)")
    project.operation("restore_partitions", {**args, "partitions": "2026-05-01"})
    assert checksums(project, "bk_naive", "t") == before


@pytest.mark.parametrize(
    "macro, args, message",
    [
        ("restore_partitions", {"database": "bk_errors", "tables": "t", "partitions": "2026-03-01", "suffix": "s"},
         "holds months 2026-04-01, not 2026-03-01; nothing was restored"),
        ("restore_partitions", {"database": "bk_errors", "tables": "t", "suffix": "other"},
         "no backup `bk_errors`.`t__refill_backup_other`"),
        ("backup_partitions", {"database": "bk_errors", "tables": "t", "partitions": "2026-04-01", "suffix": "a-b"},
         "suffix must be letters, digits and underscores"),
        ("backup_partitions", {"database": "bk_errors", "tables": "t", "partitions": "2026-04", "suffix": "s"},
         "partitions must be the first day of a month (YYYY-MM-01), got '2026-04'"),
        ("backup_partitions", {"database": "bk_errors", "tables": "nope", "partitions": "2026-04-01", "suffix": "s"},
         "table `bk_errors`.`nope` does not exist"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(project, macro, args, message):
    if not project.warehouse.scalar("EXISTS TABLE bk_errors.t"):
        _create(project, "bk_errors", "t")
        project.operation("backup_partitions", {"database": "bk_errors", "tables": "t", "partitions": "2026-04-01", "suffix": "s"})
    before = checksums(project, "bk_errors", "t")
    run = project.operation(macro, args, check=False)
    assert not run.success
    assert message in run.text
    assert checksums(project, "bk_errors", "t") == before
