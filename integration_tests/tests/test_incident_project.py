"""The small-incident harness itself: its replay damages a price-derived cohort model,
and a refill of the lab's shape makes it equal to the from-scratch build."""

from __future__ import annotations

import datetime as dt

import pytest

from incident_project import IncidentProject, differing, run_args
from incident_shapes import HISTORY_START, PRICES_VIEW, RAW_TABLES, VOLUME_COHORT, feed

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)


def test_replayed_gap_damages_the_cohort_and_refill_makes_it_equal_to_the_fresh_build(tmp_path):
    project = IncidentProject(
        tmp_path, models={"prices.sql": PRICES_VIEW, "volume_daily.sql": VOLUME_COHORT},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
    )
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        # the damage the harness must produce: the gap day's USD reads 0, as in production
        assert differing(project.diff()) == {"volume_daily": (3, 3)}
        assert project.rows(f"SELECT countIf(volume_usd = 0) FROM inc.volume_daily WHERE date = '{GAP}'") == [(3,)]
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert differing(project.diff()) == {}
