"""Projects that need ``--vars`` to parse: refill passes the user's vars to every dbt
invocation and parse of the run (issue #13 kind 6).

The project reads its sources' schema from ``var('raw_schema')`` with no default, as many
real projects do: without ``--vars`` dbt cannot even parse it.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from incident_project import IncidentProject, differing, run_args
from incident_shapes import HISTORY_START, PRICES_VIEW, RAW_TABLES, VOLUME_COHORT, cohort_config, feed, month_window

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)
VARS = json.dumps({"raw_schema": "inc_raw"})
CANARY = {"model": "volume_daily", "date_column": "date", "value_column": "volume_usd", "group_by": ["token"],
          "threshold": 1000, "zero_is_anomaly": True}

# the cohort model in a custom schema, so the rollback below restores where it backed up
VOLUME_IN_ANALYTICS = cohort_config("(date, token)", extra="schema='analytics',") + """
SELECT t.day AS date, t.token AS token, sum(t.amount) AS volume, sum(t.amount * p.price) AS volume_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
WHERE 1 = 1
""" + month_window("t.day") + """
GROUP BY date, token
"""


def vars_project(tmp_path, volume_sql: str = VOLUME_COHORT) -> IncidentProject:
    return IncidentProject(
        tmp_path, models={"prices.sql": PRICES_VIEW, "volume_daily.sql": volume_sql},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices", vars={"refill_canaries": [CANARY]},
        raw_schema="{{ var('raw_schema') }}", raw_vars=lambda raw: {"raw_schema": raw},
    )


def test_a_project_that_needs_vars_to_parse_is_detected_refilled_and_checked_with_vars(tmp_path):
    project = vars_project(tmp_path)
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert differing(project.diff()) == {"volume_daily": (3, 3)}

    without = project.refill("plan", "--from-date", GAP.isoformat(), "--today", TODAY.isoformat())
    assert without.returncode == 2 and "raw_schema" in without.stderr, without.stderr[-2000:]

    detected = project.refill("detect", "--today", TODAY.isoformat(), "--format", "json", "--vars", VARS)
    assert detected.returncode == 3, detected.stdout[-2000:] + detected.stderr[-2000:]
    found = json.loads(detected.stdout)
    assert found["from_date"] == GAP.isoformat() and found["days"][0]["damaged"] == {"volume_daily": 3}
    assert "--vars" in found["command"]  # the printed repair keeps the vars the project needs

    result = project.refill(*run_args(GAP, TODAY), "--vars", VARS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    with project:
        assert differing(project.diff()) == {}

    canary = project.refill("canary", "--from-date", GAP.isoformat(), "--today", TODAY.isoformat(), "--vars", VARS)
    assert canary.returncode == 0 and "0 violation(s)" in canary.stdout, canary.stdout[-2000:] + canary.stderr
    lint = project.refill("lint", "--parse", "--vars", VARS)
    assert lint.returncode == 0, lint.stdout[-2000:] + lint.stderr[-2000:]


def test_a_crashed_refill_rolls_back_with_vars_where_it_backed_up(tmp_path):
    project = vars_project(tmp_path, VOLUME_IN_ANALYTICS)
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        assert project.relations()["volume_daily"] == "`inc_analytics`.`volume_daily`"
        before = project.checksums()
        assert "inc_analytics.volume_daily" in before
    crash = {"REFILL_FAULT_INJECT": json.dumps({"step": "phase1:2026-04-01", "when": "after"})}
    crashed = project.refill(*run_args(GAP, TODAY), "--vars", VARS, env=crash)
    assert crashed.returncode < 0, crashed.stdout[-3000:] + crashed.stderr[-2000:]  # killed after Phase 1
    with project:
        assert project.checksums()["inc_analytics.volume_daily"] != before["inc_analytics.volume_daily"]
    rolled = project.refill("rollback", "--run", "pending", "--vars", VARS)
    assert rolled.returncode == 0, rolled.stdout[-3000:] + rolled.stderr[-2000:]
    with project:
        after = project.checksums()
        assert {k: v for k, v in after.items() if k in before} == before
        assert not [name for name in after if "__refill_" in name]  # the backups went with the rollback
