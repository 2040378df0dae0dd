"""Relations come from the graph: a cohort model in a custom schema, under an alias, or with
``database=`` is refilled where dbt really put it, and equals the from-scratch build.

Issue #12 kind 3. Each project also holds a cohort aggregator in the profile's schema that
reads the custom one (so one refill's cohort spans two databases) and a fact table in a
third schema, so every statement refill issues (kill mutations, backup, swap, canary, verify,
finish) has to group the plan's relations by their database.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from incident_project import IncidentProject, differing, run_args
from refill.dbt.graph import Relation
from refill.run.phases.verify import missing_relations
from incident_shapes import HISTORY_START, PRICES_VIEW, RAW_TABLES, cohort_config, feed, month_window

pytestmark = pytest.mark.engine

GAP, TODAY = dt.date(2026, 4, 17), dt.date(2026, 4, 27)


def volume_cohort(extra: str) -> str:
    return cohort_config("(date, token)", extra=extra) + """
SELECT t.day AS date, t.token AS token, sum(t.amount) AS volume, sum(t.amount * p.price) AS volume_usd
FROM {{ source('raw', 'transfers') }} AS t
LEFT JOIN {{ ref('prices') }} AS p ON p.token = t.token AND p.date = t.day
WHERE 1 = 1
""" + month_window("t.day") + """
GROUP BY date, token
"""


# a cohort model reading the custom-relation one: Phase 1 must swap the two in order
VOLUME_TOTAL = cohort_config("date") + """
SELECT date, sum(volume_usd) AS total_usd FROM {{ ref('volume') }}
WHERE 1 = 1
""" + month_window("date") + """
GROUP BY date
"""

FCT_VOLUME = """
{{ config(materialized='table', schema='marts', engine='MergeTree()', order_by='date') }}
SELECT date, total_usd FROM {{ ref('volume_total') }}
"""

SHAPES = {
    # dbt-clickhouse writes schema='analytics' into the database `<target schema>_analytics`
    "schema": ("schema='analytics',", "inc_analytics", "volume"),
    "alias": ("alias='volume_daily',", "inc", "volume_daily"),
    # dbt-clickhouse has no database level above the schema: its generate_database_name
    # ignores database=, so the model stays in the target schema under its own name
    "database": ("database='analytics',", "inc", "volume"),
}


def relations_project(tmp_path, shape: str, **vars) -> IncidentProject:
    extra = SHAPES[shape][0]
    return IncidentProject(
        tmp_path,
        models={"prices.sql": PRICES_VIEW, "volume.sql": volume_cohort(extra),
                "volume_total.sql": VOLUME_TOTAL, "fct_volume.sql": FCT_VOLUME},
        raw_tables=RAW_TABLES, feed=feed, prices_model="prices",
        vars={"refill_canaries": [{"model": "volume", "date_column": "date", "value_column": "volume_usd",
                                   "group_by": ["token"], "threshold": 1000, "zero_is_anomaly": True}], **vars},
    )


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_refill_of_a_cohort_model_with_a_custom_relation_equals_the_fresh_build(tmp_path, shape):
    _, database, identifier = SHAPES[shape]
    project = relations_project(tmp_path, shape)
    with project:
        project.replay([GAP], TODAY, history_start=HISTORY_START)
        project.build_truth(TODAY, history_start=HISTORY_START)
        assert project.relations()["volume"] == f"`{database}`.`{identifier}`"
        assert set(differing(project.diff())) == {"volume", "volume_total", "fct_volume"}
    detected = project.refill("detect", "--today", TODAY.isoformat(), "--format", "json")
    assert detected.returncode == 3, detected.stdout[-2000:] + detected.stderr[-2000:]
    assert json.loads(detected.stdout)["days"][0]["damaged"] == {"volume": 3, "volume_total": 1, "fct_volume": 1}
    result = project.refill(*run_args(GAP, TODAY))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    with project:
        assert differing(project.diff()) == {}
        # the run's backups and staging tables were dropped where they were made
        leftovers = project.rows(
            "SELECT database, name FROM system.tables WHERE startsWith(database, 'inc')"
            " AND (name LIKE '%refill_backup%' OR name LIKE '%refill_stage%')")
        assert leftovers == []


def test_cleanup_and_the_orphan_view_cover_every_schema_and_drop_only_what_the_project_owns(tmp_path):
    project = relations_project(tmp_path, "schema", refill_observability=True)
    owned = {("inc_analytics", "volume__dbt_backup"), ("inc_marts", "fct_volume__dbt_tmp"),
             ("inc", "volume_total__dbt_new_data_0a1b")}
    # no model of the project writes these: another project's, or a name that only looks like
    # ours (`volume` lives in inc_analytics, not in inc)
    foreign = {("inc", "x__dbt_backup"), ("inc_analytics", "x__dbt_tmp"), ("inc", "volume__dbt_backup")}
    with project:
        project.build(TODAY, history_start=HISTORY_START)
        for database, name in owned | foreign:
            project.lab.warehouse.execute(f"CREATE TABLE `{database}`.`{name}` (a UInt8) ENGINE = MergeTree ORDER BY a")
        listed = set(project.rows("SELECT database_name, table_name FROM inc.refill_orphan_tables"))
        assert listed == owned | foreign
    result = project.refill("cleanup", "--older-than", "0s")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    with project:
        left = set(project.rows("SELECT database, name FROM system.tables WHERE startsWith(database, 'inc')"))
    assert not owned & left, result.stdout
    assert foreign <= left, result.stdout
    assert "no model of this project owns it" in result.stdout


def test_kill_mutations_looks_where_dbt_put_each_model(tmp_path):
    project = relations_project(tmp_path, "schema")
    with project:
        project.build(TODAY, history_start=HISTORY_START)
        # and verify names a relation that is not there instead of passing it unread
        there, not_there = Relation("inc_analytics", "volume"), Relation("inc", "volume")
        assert missing_relations(project.lab.warehouse, [there, not_there]) == [not_there]
    named = project.refill("kill-mutations", "--tables", "volume,volume_total", "--dry-run")
    assert named.returncode == 0, named.stdout[-2000:] + named.stderr[-2000:]
    assert "no failed mutations in `inc_analytics` (tables volume)" in named.stdout
    assert "no failed mutations in `inc` (tables volume_total)" in named.stdout
    every = project.refill("kill-mutations", "--dry-run")
    assert every.returncode == 0, every.stdout[-2000:] + every.stderr[-2000:]
    for database in ("inc", "inc_analytics", "inc_marts"):
        assert f"no failed mutations in `{database}`" in every.stdout  # the quote ends the name
