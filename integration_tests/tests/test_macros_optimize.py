"""optimize_partition_final / optimize_partitions_final on the engine: a barrier that
fails loudly instead of silently doing nothing (issue #3, item 3)."""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import MacroProject

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("optimize"))
    project.parse()
    yield project
    project.close()


def _table(project, database, name, engine="ReplacingMergeTree"):
    w = project.warehouse
    w.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    w.execute(
        f"CREATE TABLE {database}.`{name}` (date Date, k Int64, v Decimal(38, 6)) "
        f"ENGINE = {engine} ORDER BY (date, k) PARTITION BY toStartOfMonth(date)"
    )
    w.execute(f"SYSTEM STOP MERGES {database}.`{name}`")
    for version in (1, 2):  # every (date, k) of March and April written twice
        w.execute(
            f"INSERT INTO {database}.`{name}` SELECT addDays(toDate('2026-03-01'), intDiv(number, 2)), "
            f"toInt64(number % 2), toDecimal128({version}, 6) FROM numbers(61 * 2)"
        )


def _duplicates(project, database, name):
    return dict(project.warehouse.rows(
        f"SELECT toStartOfMonth(date) AS m, count() - uniqExact(date, k) FROM {database}.`{name}` GROUP BY m ORDER BY m"))


def test_barrier_deduplicates_every_month_of_every_table_in_one_invocation(project):
    for name in ("a", "b"):
        _table(project, "opt_batch", name)
        assert set(_duplicates(project, "opt_batch", name).values()) == {62, 60}  # 31 and 30 days x 2 keys
        project.warehouse.execute(f"SYSTEM START MERGES opt_batch.{name}")
    run = project.operation("optimize_partitions_final",
                            {"database": "opt_batch", "tables": ["a", "b"], "partitions": ["2026-03-01", "2026-04-01"]})
    assert "optimized 4 partition(s) of 2 table(s); no duplicate sorting keys" in run.text
    assert "FINAL DEDUPLICATE SETTINGS optimize_throw_if_noop = 1, alter_sync = 2" in run.text
    for name in ("a", "b"):
        assert set(_duplicates(project, "opt_batch", name).values()) == {0}
        assert project.show(f"{{{{ refill.duplicate_keys_query('opt_batch', '{name}', ['2026-03-01', '2026-04-01']) }}}}") == []


def test_a_month_no_partition_holds_fails_where_a_bare_optimize_is_silent(project):
    _table(project, "opt_missing", "t")
    project.warehouse.execute("SYSTEM START MERGES opt_missing.t")
    project.warehouse.execute("OPTIMIZE TABLE opt_missing.t PARTITION ID '20260501' FINAL DEDUPLICATE")  # no error

    run = project.operation("optimize_partitions_final",
                            {"database": "opt_missing", "tables": "t", "partitions": ["2026-04-01", "2026-05-01"]},
                            check=False)
    assert not run.success
    assert "no partition holds: `opt_missing`.`t` 2026-05-01" in run.text
    assert not any(m.startswith("refill: OPTIMIZE") for m in run.messages)
    assert _duplicates(project, "opt_missing", "t")[dt.date(2026, 4, 1)] == 60  # nothing ran

    # the statement itself is no silent no-op either, should the partition vanish after it was resolved
    statement = project.compile_inline("{{ refill._optimize_sql('opt_missing', 't', '20260501') }}")
    with pytest.raises(Exception, match="CANNOT_ASSIGN_OPTIMIZE"):
        project.warehouse.execute(statement)

    project.operation("optimize_partitions_final", {"database": "opt_missing", "tables": "t",
                                                    "partitions": ["2026-04-01", "2026-05-01"], "if_missing": "skip"})
    assert _duplicates(project, "opt_missing", "t")[dt.date(2026, 4, 1)] == 0


def test_seed_call_shape_fails_when_the_optimize_cannot_run(project):
    _table(project, "opt_stopped", "t")  # merges stay stopped: OPTIMIZE aborts (Code 236)
    run = project.operation("optimize_partition_final",
                            {"database": "opt_stopped", "table_name": "t", "partition": "2026-04-01"}, check=False)
    assert not run.success
    assert "ABORTED" in run.text


def test_duplicate_sorting_keys_left_by_a_plain_mergetree_fail_the_barrier(project):
    _table(project, "opt_plain", "t", engine="MergeTree")
    project.warehouse.execute("SYSTEM START MERGES opt_plain.t")
    # DEDUPLICATE drops identical rows only; these differ in v
    project.warehouse.execute("OPTIMIZE TABLE opt_plain.t PARTITION ID '20260401' FINAL DEDUPLICATE")
    assert _duplicates(project, "opt_plain", "t")[dt.date(2026, 4, 1)] == 60

    run = project.operation("optimize_partition_final",
                            {"database": "opt_plain", "table_name": "t", "partition": "2026-04-01"}, check=False)
    assert not run.success
    assert "duplicate sorting keys remain after OPTIMIZE FINAL DEDUPLICATE" in run.text
    assert "`opt_plain`.`t` partition 20260401: 120 rows, 60 distinct sorting keys" in run.text


def test_names_are_quoted(project):
    _table(project, "opt_quoting", "daily-balances")
    project.warehouse.execute("SYSTEM START MERGES opt_quoting.`daily-balances`")
    project.operation("optimize_partition_final",
                      {"database": "opt_quoting", "table_name": "daily-balances", "partition": "2026-03-01"})
    assert _duplicates(project, "opt_quoting", "daily-balances")[dt.date(2026, 3, 1)] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        ({"database": "opt_batch", "table_name": "a", "partition": "2026-04-15"},
         "partition must be the first day of a month (YYYY-MM-01), got '2026-04-15'"),
        ({"database": "opt_batch", "table_name": "a", "partition": "April"},
         "partition must be the first day of a month (YYYY-MM-01), got 'April'"),
        ({"database": "opt_batch", "table_name": "nope", "partition": "2026-04-01"},
         "table `opt_batch`.`nope` does not exist"),
        ({"database": "opt_batch", "table_name": "", "partition": "2026-04-01"},
         "table_name must be a non-empty name"),
    ],
)
def test_bad_input_is_a_compiler_error_not_sql(project, args, message):
    run = project.operation("optimize_partition_final", args, check=False)
    assert not run.success
    assert message in run.text
    assert "Compilation Error" in run.text
