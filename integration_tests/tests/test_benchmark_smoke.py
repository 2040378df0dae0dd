"""The benchmark harness at its smallest size, so it cannot rot.

One incident (12 models, a three-layer cohort of three, a one-month gap) recovered once
by each flow (the seed's, refill, and the full rebuild of the lineage), exactly as
``python benchmarks/run.py --smoke`` does. Speed is not asserted here; the counts that
define each flow, the audit's measured share and the correctness of the result are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The harness lives beside the package, not in it: benchmarks/ is its import root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from refill_bench import cli, harness  # noqa: E402
from refill_bench.config import smoke_scenario  # noqa: E402

pytestmark = [pytest.mark.engine, pytest.mark.slow]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict:
    result = harness.run_scenario(smoke_scenario(), tmp_path_factory.mktemp("bench"))
    return result.as_dict()


def run_of(result: dict, flow: str) -> dict:
    (run,) = [r for r in result["runs"] if r["flow"] == flow]
    return run


def shape(result: dict) -> tuple[int, int]:
    return result["scenario"]["project"]["cohort_size"], result["scenario"]["months"]


def test_both_flows_recover_the_same_incident_and_exit_cleanly(smoke):
    assert smoke["incident"]["zero_usd_rows_on_gap_day"] > 0  # there was damage to repair
    assert {r["flow"] for r in smoke["runs"]} == {"baseline", "refill", "rebuild"}
    assert all(r["exit_code"] == 0 for r in smoke["runs"])


def test_seed_flow_runs_every_cohort_model_twice_a_month_with_an_optimize_after_each_pass(smoke):
    cohort, months = shape(smoke)
    baseline = run_of(smoke, "baseline")
    assert baseline["cohort_executions"] == 2 * cohort * months
    assert baseline["optimize_statements"] == 2 * cohort * months
    # per month and pass: run + ls + one run-operation per model; then canary, Phase 2, Phase 3
    assert baseline["dbt_invocations"] == months * 2 * (2 + cohort) + 3
    assert baseline["parses"] == baseline["dbt_invocations"]  # every CLI process loads the manifest


def test_refill_runs_every_cohort_model_once_a_month_without_optimize_in_few_parses(smoke):
    cohort, months = shape(smoke)
    refill = run_of(smoke, "refill")
    assert refill["cohort_executions"] == cohort * months
    assert refill["optimize_statements"] == 0
    assert 1 <= refill["parses"] <= 3


def test_refill_equals_the_fresh_build_and_the_seed_flow_does_not(smoke):
    refill, baseline = run_of(smoke, "refill"), run_of(smoke, "baseline")
    assert refill["differing_rows"] == 0
    assert refill["stale_unpriced_rows"] == 0
    assert set(refill["supply_vs_truth"].values()) == {1.0}
    # keys whose corrected state is "no row" survive append + OPTIMIZE, whatever the merges did
    assert baseline["stale_unpriced_rows"] > 0
    assert "int_execution_tokens_balance_cohorts_daily" in baseline["models_differing"]


def test_the_full_rebuild_is_one_dbt_run_and_equals_the_fresh_build(smoke):
    rebuild = run_of(smoke, "rebuild")
    assert rebuild["dbt_invocations"] == 1 and rebuild["optimize_statements"] == 0
    assert rebuild["differing_rows"] == 0 and rebuild["stale_unpriced_rows"] == 0
    # it rewrites every cohort partition, not only the gap's months
    assert rebuild["rows_inserted"] > run_of(smoke, "refill")["rows_inserted"]


def test_the_audit_before_publish_is_timed_inside_refills_wall(smoke):
    refill = run_of(smoke, "refill")
    # one audit per cohort model and month ran in refill_swap, and its trace was timed
    assert refill["audit_statement_seconds"] > 0 and refill["audit_trace_seconds"] > 0
    assert refill["audit_trace_seconds"] < refill["audit_seconds"] < refill["wall_seconds"]
    assert run_of(smoke, "baseline")["audit_seconds"] == 0


def test_measurements_add_up(smoke):
    for run in smoke["runs"]:
        assert run["statements"] > 0 and run["rows_inserted"] > 0 and run["peak_rss_mb"] > 0
        assert 0 < run["busy_seconds"] <= run["query_seconds"] + 1e-6
        assert run["busy_seconds"] < run["wall_seconds"]
        assert run["overhead_seconds"] == pytest.approx(run["wall_seconds"] - run["busy_seconds"])
        assert sum(run["phases"].values()) <= run["wall_seconds"] + 0.5
        assert {"phase1", "phase2"} <= set(run["phases"]) or set(run["phases"]) == {"startup", "rebuild"}


def test_results_render_as_markdown_json_and_targets(smoke, tmp_path):
    results = {"scenarios": [smoke], "machine": {"cpu": "test"},
               "meta": {"command": "pytest", "started": "now", "duration_minutes": 0.0,
                        "load_start": 0.0, "load_end": 0.0, "provisional": None}}
    written = cli.write_results(results, tmp_path)
    text = (tmp_path / "RESULTS.md").read_text()
    assert {p.name for p in written} >= {"RESULTS.md", "results.json"}
    assert "| wall (s) |" in text and "## Targets" in text
    assert "Phase 1: one execution and ≤ 1 OPTIMIZE per cohort model per month" in text
    assert "audit before publish ≤ 15% of refill's wall" in text
