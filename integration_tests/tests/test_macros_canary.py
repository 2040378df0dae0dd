"""canary_query / canary on the engine: the adjacent-day ratio scan whose window takes
in the month boundary, and fails closed (issue #3, item 5)."""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import MacroProject

pytestmark = pytest.mark.engine

CANARIES = [
    {"model": "can.doubled", "date_column": "date", "value_column": "supply_usd", "group_by": ["token"]},
    {"model": "can.correct", "date_column": "date", "value_column": "supply_usd", "group_by": ["token"],
     "threshold": 1.5, "zero_is_anomaly": True},
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("canary"), vars={"refill_canaries": CANARIES})
    project.parse()
    w = project.warehouse
    w.execute("CREATE DATABASE can")
    for table, april_factor in (("doubled", 2), ("correct", 1)):
        w.execute(f"CREATE TABLE can.{table} (date Date, token String, supply_usd Decimal(38, 6)) "
                  "ENGINE = ReplacingMergeTree ORDER BY (date, token) PARTITION BY toStartOfMonth(date)")
        # flat inside each month; the doubled table has April computed 2x: a step only at the boundary
        w.execute(f"""
            INSERT INTO can.{table}
            SELECT addDays(toDate('2026-03-01'), number) AS date, token,
                   toDecimal128(if(date >= '2026-04-01', {april_factor}, 1) * base, 6)
            FROM numbers(58) ARRAY JOIN ['GNO', 'WETH'] AS token, [100, 300] AS base""")
    yield project
    project.close()


def _args(model, **extra):
    return {"model": model, "date_column": "date", "value_column": "supply_usd", "group_by": ["token"],
            "start_date": "2026-04-17", "end_date": "2026-04-27", **extra}


def test_uniform_2x_month_fires_where_a_scan_from_the_gap_day_sees_nothing(project):
    from_gap_day = project.show(
        "{{ refill.canary_query('can.doubled', 'date', 'supply_usd', ['token'], where=\"date >= '2026-04-17'\") }}")
    assert from_gap_day == []  # flat inside April

    rows = project.show("{{ refill.canary_query('can.doubled', 'date', 'supply_usd', ['token'], '2026-04-17', '2026-04-27') }}")
    assert [(r["entity"], r["day"], r["previous"], r["value"], r["ratio"]) for r in rows] == [
        ("GNO", dt.date(2026, 4, 1), 100, 200, 2.0),
        ("WETH", dt.date(2026, 4, 1), 300, 600, 2.0),
    ]

    run = project.operation("canary", _args("can.doubled"), check=False)
    assert not run.success
    assert "  GNO | 2026-04-01 | 100.000000 | 200.000000 | 2.0000 | ratio above 1.5" in run.messages
    assert "  WETH | 2026-04-01 | 300.000000 | 600.000000 | 2.0000 | ratio above 1.5" in run.messages
    assert "refill canary failed: can.doubled.supply_usd (2 day(s))" in run.text


def test_clean_scan_says_what_it_checked(project):
    run = project.operation("canary", _args("can.correct"))
    # the window starts 3 days before April: 2026-03-29 .. 2026-04-27
    assert ("refill canary can.correct.supply_usd: OK, checked 2 entities over 30 days "
            "(2026-03-29 to 2026-04-27, 60 entity-days)") in run.messages


def test_drops_zeros_and_missing_days(project):
    w = project.warehouse
    w.execute("CREATE TABLE can.holes AS can.correct")
    w.execute("INSERT INTO can.holes SELECT * FROM can.correct WHERE date != '2026-04-20' OR token != 'WETH'")
    w.execute("ALTER TABLE can.holes UPDATE supply_usd = 0 WHERE date = '2026-04-17' AND token = 'GNO'",
              settings={"mutations_sync": 2})
    w.execute("ALTER TABLE can.holes UPDATE supply_usd = supply_usd / 2 WHERE date >= '2026-04-25' AND token = 'GNO'",
              settings={"mutations_sync": 2})
    query = "{{{{ refill.canary_query('can.holes', 'date', 'supply_usd', 'token', '2026-04-17', '2026-04-27', zero_is_anomaly={}) }}}}"
    flagged = [(r["entity"], r["day"], r["reason"]) for r in project.show(query.format("true"))]
    assert flagged == [
        ("GNO", dt.date(2026, 4, 17), "zero or NULL"),
        ("GNO", dt.date(2026, 4, 25), "ratio below 1/1.5"),
        ("WETH", dt.date(2026, 4, 20), "missing day"),
    ]
    assert [(r["entity"], r["day"]) for r in project.show(query.format("false"))] == [("GNO", dt.date(2026, 4, 25))]


def test_configured_canaries_all_report_before_the_invocation_fails(project):
    run = project.operation("canary", {"start_date": "2026-04-17", "end_date": "2026-04-27"}, check=False)
    assert not run.success
    assert any(m.startswith("refill canary can.doubled.supply_usd: FAIL, 2 offending day(s)") for m in run.messages)
    assert any(m.startswith("refill canary can.correct.supply_usd: OK, checked 2 entities") for m in run.messages)


def test_an_empty_window_fails_closed(project):
    run = project.operation("canary", _args("can.correct", start_date="2027-01-01", end_date="2027-01-31"), check=False)
    assert not run.success
    assert "FAIL, no rows in the window, nothing was checked" in run.text


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"threshold": 1}, "threshold must be a number above 1"),
        ({"start_date": "17/04/2026"}, "start_date must be a date (YYYY-MM-DD)"),
        ({"date_column": ""}, "date_column must be a non-empty name"),
    ],
)
def test_bad_input_is_a_compiler_error(project, extra, message):
    run = project.operation("canary", _args("can.correct", **extra), check=False)
    assert not run.success
    assert message in run.text
