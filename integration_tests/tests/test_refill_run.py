"""`refill run` on the incident lab, proven against the from-scratch build."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from conftest import BOUNDARY_GAP, BOUNDARY_TODAY, SEED_GAP, SEED_TODAY, run_refill
from refill.engine import embedded as engine
from refill.errors import CheckFailed
from refill.lab.diff import checksums
from refill.lab.simulator import Lab
from refill.run.orchestrator import RunOptions, run_refill as run_in_process
from refill.run.plan import make_window

pytestmark = pytest.mark.engine

COHORT = (
    "int_execution_tokens_balances_daily",
    "int_execution_tokens_supply_holders_daily",
    "int_execution_tokens_balance_cohorts_daily",
    "int_execution_gpay_activity_daily",
)


def refill(lab: Lab, from_date: dt.date, today: dt.date, **overrides) -> int:
    options = RunOptions(
        window=make_window(from_date=from_date, today=today),
        project_dir=lab.project_dir,
        profiles_dir=lab.profiles_dir,
        target="lab",
        artifacts_dir=lab.artifacts_dir,
        quiet=True,
        **overrides,
    )
    return run_in_process(options)


def differing(lab: Lab) -> dict[str, int]:
    return {d.model: d.differing for d in lab.diff() if d.differing}


def seed_two_pass(lab: Lab, months: list[str]) -> None:
    """The seed's Phase 1 as its script runs it: per month, the cohort appended twice with
    OPTIMIZE … FINAL DEDUPLICATE after each pass; then Phases 2 and 3. Background merges
    are stopped so the RMT's laziness is deterministic, and started only for the OPTIMIZEs."""
    session, warehouse, schema = lab.session(), lab.warehouse, lab.schema
    for table in COHORT:
        warehouse.execute(f"SYSTEM STOP MERGES {schema}.{table}")
    for month in months:
        month_vars = {"start_month": month, "end_month": month}
        manifest = session.parse(vars=month_vars)
        for _ in ("pass A", "pass B"):
            session.invoke(["run", "--select", "tag:refill_append"], manifest=manifest, vars=month_vars)
            for table in COHORT:
                warehouse.execute(f"SYSTEM START MERGES {schema}.{table}")
                warehouse.execute(f"OPTIMIZE TABLE {schema}.{table} PARTITION '{month}' FINAL DEDUPLICATE")
                warehouse.execute(f"SYSTEM STOP MERGES {schema}.{table}")
    manifest = session.parse()
    session.invoke(["run", "--select", "int_execution_token_prices_daily+", "--exclude", "tag:refill_append"],
                   manifest=manifest, vars={"price_lookback_days": 12})
    session.invoke(["run", "--select", "tag:refill_append+", "--exclude", "tag:refill_append"], manifest=manifest)


def test_refill_equals_fresh_build_after_the_seed_gap(seed_lab):
    """The seed's incident, refilled in one pass. Background merges of every cohort table are
    stopped for the whole run, so nothing can depend on a merge; the cohort mixes append and
    insert_overwrite models; and keys that exist only because the price was missing (the
    'unpriced' bucket) must be gone afterwards."""
    unpriced = (f"SELECT count() FROM {seed_lab.schema}.int_execution_tokens_balance_cohorts_daily"
                f" WHERE bucket = 'unpriced' AND date = '{SEED_GAP}'")
    assert seed_lab.warehouse.scalar(unpriced) > 0
    assert set(differing(seed_lab)) >= {"int_execution_tokens_balances_daily", "int_execution_gpay_activity_daily"}
    for table in COHORT:
        seed_lab.warehouse.execute(f"SYSTEM STOP MERGES {seed_lab.schema}.{table}")

    assert refill(seed_lab, SEED_GAP, SEED_TODAY) == 0

    assert differing(seed_lab) == {}
    assert seed_lab.warehouse.scalar(unpriced) == 0


def test_one_run_starts_the_embedded_engine_once(boundary_lab):
    """Was 4 starts: the plan's dbt show, its schema-drift and repull reads each opened the
    engine and let it stop, then the lock opened it again; each start loads every table."""
    assert differing(boundary_lab)
    boundary_lab.close()  # the lab's own connection would keep the engine running for the run
    before = engine.starts()
    assert refill(boundary_lab, BOUNDARY_GAP, BOUNDARY_TODAY) == 0
    assert engine.starts() - before == 1
    assert differing(boundary_lab) == {}


def test_refill_equals_fresh_build_after_gap_across_month_boundary(boundary_lab):
    assert differing(boundary_lab)
    assert refill(boundary_lab, BOUNDARY_GAP, BOUNDARY_TODAY) == 0
    assert differing(boundary_lab) == {}


def test_seed_two_pass_flow_bakes_2x_into_the_three_layer_cohort(seed_lab):
    before = seed_lab.warehouse.scalar(
        f"SELECT sum(supply) FROM {seed_lab.truth_schema}.int_execution_tokens_supply_holders_daily"
        " WHERE toStartOfMonth(date) = '2026-04-01'")
    seed_two_pass(seed_lab, ["2026-04-01"])
    after = seed_lab.warehouse.scalar(
        f"SELECT sum(supply) FROM {seed_lab.schema}.int_execution_tokens_supply_holders_daily"
        " WHERE toStartOfMonth(date) = '2026-04-01'")
    assert after == 2 * before  # the upstream incident: July supply 2x for every token
    wrong = differing(seed_lab)
    assert "int_execution_tokens_supply_holders_daily" in wrong
    assert "int_execution_tokens_balance_cohorts_daily" in wrong
    # and no duplicate keys to warn anyone: count() - uniqExact(key) = 0
    assert seed_lab.warehouse.scalar(
        f"SELECT count() - uniqExact(date, token_address) FROM {seed_lab.schema}.int_execution_tokens_supply_holders_daily"
    ) == 0


def test_without_the_swap_a_single_pass_bakes_duplicates(seed_lab, monkeypatch):
    """Remove the barrier (the write-aside + swap): the cohort appends in one pass, like
    the seed's 'single-pass refill', and with merges stopped the aggregators read 2x."""
    from refill.lint.parsetime import MonthDependence
    from refill.run import plan_resolve
    from refill.run.phases import cohort

    monkeypatch.setattr(cohort, "route_to_swap", lambda manifest, cohort_ids: None)  # the models' own append
    # their own strategy is the one parsed with the month vars (append), as in the seed's pass:
    # refill_swap ignores the strategy, so refill reuses the plan's parse, whose strategy is the
    # daily delete+insert (a mutation, which never finishes with merges stopped)
    monkeypatch.setattr(plan_resolve, "month_dependent_config", lambda *args, **kwargs: [
        MonthDependence(name, ("incremental_strategy",), "append under the month vars") for name in COHORT])
    for table in COHORT:
        seed_lab.warehouse.execute(f"SYSTEM STOP MERGES {seed_lab.schema}.{table}")
    with pytest.raises(CheckFailed, match="canary failed|duplicate key"):  # the 2x month is caught
        refill(seed_lab, SEED_GAP, SEED_TODAY)
    assert "int_execution_tokens_supply_holders_daily" in differing(seed_lab)


def _poll_month_total(lab: Lab, stop: threading.Event, seen: set) -> None:
    client = engine.open_client(lab.data_dir)
    try:
        while not stop.is_set():
            seen.add(tuple(client.query(
                f"SELECT count(), sum(supply), sum(supply_usd) FROM {lab.schema}.int_execution_tokens_supply_holders_daily"
                " WHERE toStartOfMonth(date) = '2026-04-01'").result_rows[0]))
    finally:
        client.close()


def _month_total(lab: Lab, schema: str) -> tuple:
    return tuple(lab.warehouse.rows(
        f"SELECT count(), sum(supply), sum(supply_usd) FROM {schema}.int_execution_tokens_supply_holders_daily"
        " WHERE toStartOfMonth(date) = '2026-04-01'")[0])


def test_reader_sees_only_the_old_or_the_new_month_while_refill_runs(seed_lab):
    old, new = _month_total(seed_lab, seed_lab.schema), _month_total(seed_lab, seed_lab.truth_schema)
    stop, seen = threading.Event(), set()
    poller = threading.Thread(target=_poll_month_total, args=(seed_lab, stop, seen))
    poller.start()
    try:
        assert refill(seed_lab, SEED_GAP, SEED_TODAY) == 0
    finally:
        stop.set()
        poller.join()
    assert seen <= {old, new}
    assert new in seen


def test_reader_sees_a_doubled_month_during_the_seed_flow(seed_lab):
    old, new = _month_total(seed_lab, seed_lab.schema), _month_total(seed_lab, seed_lab.truth_schema)
    stop, seen = threading.Event(), set()
    poller = threading.Thread(target=_poll_month_total, args=(seed_lab, stop, seen))
    poller.start()
    try:
        seed_two_pass(seed_lab, ["2026-04-01"])
    finally:
        stop.set()
        poller.join()
    assert seen - {old, new}  # intermediate states were visible to dashboards


def test_dry_run_changes_no_table(seed_lab):
    schemas = [seed_lab.schema, seed_lab.truth_schema, f"{seed_lab.schema}_raw"]
    before = checksums(seed_lab.warehouse, schemas)
    assert refill(seed_lab, SEED_GAP, SEED_TODAY, dry_run=True) == 0
    assert checksums(seed_lab.warehouse, schemas) == before


def test_the_plan_compiles_the_incremental_consumers_once_for_the_window_check(seed_lab, tmp_path):
    """Was two compiles (price_lookback_days and one more, compared): each consumer's window
    calls the package's filter, so the one compile with the probe value shows they follow it."""
    report_path = tmp_path / "plan.json"
    assert refill(seed_lab, SEED_GAP, SEED_TODAY, dry_run=True, report_path=report_path) == 0
    compiles = json.loads(report_path.read_text())["compiles"]
    window_checks = [c for c in compiles if c["reason"].startswith("window check")]
    assert len(window_checks) == 1, compiles
    assert window_checks[0]["how"] != "0 model(s)"  # the lab's incremental consumers were compiled


def test_plan_command_prints_layers_and_statements(seed_lab):
    seed_lab.close()
    result = run_refill("plan", "--from-date", str(SEED_GAP), "--today", str(SEED_TODAY),
                        "--project-dir", str(seed_lab.project_dir), "--profiles-dir", str(seed_lab.profiles_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "price_lookback_days : 12" in out
    assert "affected months     : 2026-04-01" in out
    assert ("layer 1: int_execution_gpay_activity_daily, int_execution_gpay_wallet_balances_daily,"
            " int_execution_tokens_balances_daily") in out
    assert "layer 2: int_execution_gpay_volume_cumulative_daily, int_execution_tokens_supply_holders_daily" in out
    assert "layer 3: int_execution_tokens_balance_cohorts_daily" in out
    assert "--exclude tag:refill_append" in out
    assert "nothing was run and nothing was written" in out
    # the preflight's compile of the cohort prints nothing: before the plan stand only the
    # lint's notes on the two models that carry state forward from {{ this }} (RF011)
    before_plan = out[:out.index("refill plan ")].splitlines()
    assert [line.split(":")[2].strip() for line in before_plan] == [
        "int_execution_gpay_volume_cumulative_daily", "int_execution_gpay_wallet_balances_daily"]
    assert all(line.startswith("refill: note: ") and "RF011" in line for line in before_plan)
