"""The schema-drift decision per on_schema_change, as dbt's incremental would decide it."""

from __future__ import annotations

import pytest

from refill.run.schema_drift import Column, SchemaChanges, compare

REL = ("inc", "volume_daily")
LIVE = [Column("date", "Date"), Column("token", "String"), Column("volume", "Float64")]


def decide(recompute, mode):
    return compare("volume_daily", REL, LIVE, recompute, mode)


@pytest.mark.parametrize("mode", ["ignore", "fail", "append_new_columns", "sync_all_columns", None])
def test_same_columns_in_another_order_need_nothing(mode):
    assert decide(list(reversed(LIVE)), mode) == (None, [])


@pytest.mark.parametrize("mode", ["ignore", "fail", "append_new_columns", "sync_all_columns"])
def test_a_changed_type_is_refused_under_every_setting(mode):
    change, problems = decide([*LIVE[:2], Column("volume", "Nullable(Float64)")], mode)
    assert change is None
    (problem,) = problems
    assert (problem.kind, problem.model, int(problem.exit_code)) == ("schema-drift", "volume_daily", 5)
    assert "volume is Float64 in inc.volume_daily, Nullable(Float64) in the model" in problem.message


@pytest.mark.parametrize("mode", ["ignore", "fail", None, "bogus"])
def test_a_new_column_is_refused_where_dbt_fails_on_it(mode):
    change, (problem,) = decide([*LIVE, Column("transfers", "Int64")], mode)
    assert change is None and "adds column(s) transfers" in problem.message
    assert f"on_schema_change='{mode if mode in ('ignore', 'fail') else 'ignore'}'" in problem.message


def test_append_new_columns_adds_and_refuses_a_removal():
    change, problems = decide([Column("transfers", "Int64"), *LIVE], "append_new_columns")
    assert problems == [] and change == SchemaChanges("volume_daily", "inc", "volume_daily",
                                                      add=(Column("transfers", "Int64"),))
    assert change.statements(" ON CLUSTER `c`") == [
        "ALTER TABLE `inc`.`volume_daily` ON CLUSTER `c` ADD COLUMN IF NOT EXISTS `transfers` Int64"]
    change, (problem,) = decide(LIVE[:2], "append_new_columns")
    assert change is None and "no longer has column(s) volume" in problem.message


def test_sync_all_columns_drops_and_adds():
    change, problems = decide([*LIVE[:2], Column("price", "Float64")], "sync_all_columns")
    assert problems == []
    assert change.statements() == [
        "ALTER TABLE `inc`.`volume_daily` ADD COLUMN IF NOT EXISTS `price` Float64",
        "ALTER TABLE `inc`.`volume_daily` DROP COLUMN IF EXISTS `volume`",
    ]
