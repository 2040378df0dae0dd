"""One dbt parse per refill where the cohort's parse-time config does not follow the month
vars; a second, named in the report, where it does."""

from __future__ import annotations

import json

import pytest

from conftest import SEED_GAP, SEED_TODAY, copy_lab_project
from refill.run.orchestrator import RunOptions, run_refill
from refill.run.plan import make_window

pytestmark = pytest.mark.engine

SUPPLY = "models/intermediate/cohort/int_execution_tokens_supply_holders_daily.sql"


def refill_report(lab, tmp_path) -> dict:
    report = tmp_path / "report.json"
    options = RunOptions(window=make_window(from_date=SEED_GAP, today=SEED_TODAY), project_dir=lab.project_dir,
                         profiles_dir=lab.profiles_dir, target="lab", artifacts_dir=lab.artifacts_dir, quiet=True,
                         report_path=report, state_dir=lab.work_dir / "state")
    assert run_refill(options) == 0
    return json.loads(report.read_text())


def test_lab_refill_parses_the_project_once(seed_lab, tmp_path):
    report = refill_report(seed_lab, tmp_path)
    assert len(report["parses"]) == 1, report["parses"]
    assert report["parses"][0]["reason"] == "the plan"
    assert report["plan"]["month_dependent"] == []
    # the preflight's compile of the cohort also served the audit's column lineage
    reasons = [c["reason"] for c in report["compiles"]]
    assert not any(r.startswith("audit lineage") for r in reasons), reasons
    assert {d.model: d.differing for d in seed_lab.diff() if d.differing} == {}


def test_cohort_config_that_reads_a_month_var_parses_again_and_says_why(seed_incident_dir, lab_copy, tmp_path):
    project = copy_lab_project(tmp_path, {SUPPLY: (
        "    engine='ReplacingMergeTree()',",
        "    engine='ReplacingMergeTree()',\n"
        "    query_settings=({'max_threads': 2} if var('start_month', none) else {}),")})
    lab = lab_copy(seed_incident_dir, project_dir=project)
    report = refill_report(lab, tmp_path)
    assert len(report["parses"]) == 2, report["parses"]
    second = report["parses"][1]
    assert second["vars"]["start_month"] == "2026-04-01"
    assert "int_execution_tokens_supply_holders_daily" in second["reason"]
    assert "query_settings" in second["reason"]
    assert report["plan"]["month_dependent"][0]["model"] == "int_execution_tokens_supply_holders_daily"


def test_the_plans_parse_starts_from_the_projects_own_partial_parse_state(tmp_path, monkeypatch):
    from conftest import run_refill as refill_command
    from refill.dbt.session import DbtSession

    project = copy_lab_project(tmp_path)
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    # the user's own dbt, which leaves target/partial_parse.msgpack behind
    own = refill_command("dbt", "parse", "--project-dir", str(project), "--profiles-dir", str(project))
    assert own.returncode == 0, own.stdout[-2000:]
    assert (project / "target" / "partial_parse.msgpack").is_file()

    session = DbtSession(project, profiles_dir=project, quiet=True)
    session.parse(reason="the plan")
    (record,) = session.stats.parses
    assert record.how.startswith("partial"), record

    # other vars: dbt refuses the state, parses in full and says why
    other = DbtSession(project, profiles_dir=project, quiet=True, cli_vars={"raw_schema": "elsewhere"})
    other.parse(reason="the plan")
    assert other.stats.parses[0].how.startswith("full: "), other.stats.parses
