"""Phase 4's damage check (``checks.price_damage_scan``) asks the engine once per table, whatever
its number of price value columns and gap days, and once for the shapes of every table checked
(issue #16: one statement per model and column made verify 25 s of a 300-model refill)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from macro_project import MacroProject
from refill.engine import querylog
from refill.lineage.model_lineage import ModelLineage
from refill.lineage.price_lineage import Grain, PriceDependence
from refill.run import checks

pytestmark = pytest.mark.engine

DAY1, DAY2 = dt.date(2026, 4, 17), dt.date(2026, 4, 18)
VALUES = frozenset({"amount_usd", "fee_usd", "worth"})


def _statements(log) -> int:
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if json.loads(line)["event"] == "statement")


def test_the_damage_check_reads_each_table_once_for_all_its_value_columns_and_days(tmp_path, monkeypatch):
    """Was: three metadata probes and one statement per value column for each table (12 here)."""
    log = tmp_path / "statements.jsonl"
    monkeypatch.setenv(querylog.ENV, str(log))
    project = MacroProject(tmp_path)
    warehouse = project.warehouse
    try:
        for name in ("daily_a", "daily_b"):
            warehouse.execute(
                f"CREATE TABLE macro_tests.{name} (date Date, token String, amount Float64, amount_usd Float64,"
                " fee_usd Float64, worth Nullable(Float64))"
                " ENGINE = MergeTree PARTITION BY toStartOfMonth(date) ORDER BY (date, token)")
        # daily_a: on DAY1 token a is damaged in all three (amount_usd with its amount != 0, the
        # NULL worth), token b in none (its amount is 0); on DAY2 only fee_usd of token a
        warehouse.execute("INSERT INTO macro_tests.daily_a VALUES"
                          f" ('{DAY1}', 'a', 1, 0, 0, NULL), ('{DAY1}', 'b', 0, 0, 5, 3),"
                          f" ('{DAY2}', 'a', 2, 4, 0, 1)")
        warehouse.execute(f"INSERT INTO macro_tests.daily_b VALUES ('{DAY2}', 'a', 1, 0, 2, 2)")
        models = [ModelLineage(name, "macro_tests", name, PriceDependence(columns=VALUES, values=VALUES), None, ())
                  for name in ("daily_a", "daily_b")]
        before = _statements(log)
        scan = checks.price_damage_scan(
            warehouse, models, [DAY1, DAY2], grain_of=lambda *_: Grain(), date_column="date",
            priced_days_sql=f"SELECT arrayJoin([toDate('{DAY1}'), toDate('{DAY2}')])")
        issued = _statements(log) - before
    finally:
        project.close()
    # the findings, in the order Phase 4 prints them: per table, per column, per day
    assert [(z.relation, z.column, z.day, z.rows) for z in scan.zero] == [
        ("daily_a", "amount_usd", DAY1, 1),
        ("daily_a", "fee_usd", DAY1, 1), ("daily_a", "fee_usd", DAY2, 1),
        ("daily_a", "worth", DAY1, 1),
        ("daily_b", "amount_usd", DAY2, 1),
    ]
    assert sorted(scan.checked) == ["daily_a", "daily_b"]
    # two statements for the shapes of both tables (columns, engines and keys), one per table
    assert issued == 2 + len(models), issued
