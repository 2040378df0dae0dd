"""`refill detect` on the lab: clean on the ground truth, the seed's gap found on the
incident with the command that repairs it, clean again after that command ran, and a
day still missing its prices reported as 'backfill first' (issue #8, item 1)."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from conftest import SEED_GAP, SEED_TODAY, run_refill
from refill.lab import LAB_PROJECT_DIR

pytestmark = pytest.mark.engine


def detect(lab, *args: str, target: str = "lab"):
    return run_refill("detect", "--today", str(SEED_TODAY), "--project-dir", str(lab.project_dir),
                      "--profiles-dir", str(lab.profiles_dir), "--target", target, *args)


def test_the_ground_truth_is_clean(seed_lab):
    seed_lab.close()
    result = detect(seed_lab, target="truth")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean: every entity is priced on every day" in result.stdout
    # ten daily models on their price values, the monthly mart on its months against a recompute
    assert "11 downstream model(s) checked" in result.stdout


def test_the_incident_is_found_and_the_printed_command_repairs_it(seed_lab):
    seed_lab.close()
    found = detect(seed_lab)
    assert found.returncode == 3, found.stdout + found.stderr
    lines = found.stdout.splitlines()
    # one day, the gap; the monthly mart equals a recompute from its (damaged) input: not listed
    assert [line.split()[0] for line in lines if line[:4] == "2026"] == [str(SEED_GAP)]
    header = next(i for i, line in enumerate(lines) if line.startswith("day "))
    rows = lines[header + 1: lines.index("", header)]
    table = {line.split()[-2]: int(line.split()[-1]) for line in rows}
    assert table["int_execution_tokens_balances_daily"] > 0
    assert {"int_execution_gpay_volume_by_token_daily", "int_execution_tokens_supply_holders_daily",
            "fct_execution_tokens_metrics_daily"} <= set(table)  # two hops from prices, the cohort, a mart
    command = lines[-1].strip()
    assert command == shlex.join([
        "python", "-m", "refill", "run", "--from-date", str(SEED_GAP), "--today", str(SEED_TODAY),
        "--project-dir", str(seed_lab.project_dir), "--profiles-dir", str(seed_lab.profiles_dir), "--target", "lab"])

    repaired = run_refill(*shlex.split(command)[3:])  # exactly what detect printed
    assert repaired.returncode == 0, repaired.stdout[-3000:] + repaired.stderr
    after = detect(seed_lab)
    assert after.returncode == 0, after.stdout
    assert "clean" in after.stdout


def test_a_day_the_feed_still_lacks_is_reported_before_any_damage(seed_lab):
    seed_lab.warehouse.execute(f"ALTER TABLE {seed_lab.schema}_raw.prices DELETE WHERE date = '{SEED_GAP}'",
                               settings={"mutations_sync": 2})
    seed_lab.close()
    result = detect(seed_lab, "--format", "json", "--window-days", "15")
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["window"] == {"first": "2026-04-13", "last": "2026-04-27", "days": 15}
    assert report["entities"] == 4 and report["backfill_first"] is True
    (day,) = report["days"]
    assert day["day"] == str(SEED_GAP) and len(day["missing_entities"]) == 4
    assert day["damaged"] == {}  # without a price the zeros are not (yet) refill's to fix
    assert report["command"].startswith(f"python -m refill run --from-date {SEED_GAP} --today {SEED_TODAY}")


@pytest.mark.parametrize("args, message", [
    (["--window-days", "0"], "--window-days"),
    (["--today", "27/04/2026"], "--today must be a date"),
    (["--prices-model", "no_such_model"], "prices model 'no_such_model' is not a model"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "profiles.yml").write_text(yaml.safe_dump({"refill_lab": {"target": "lab", "outputs": {"lab": {
        "type": "clickhouse", "driver": "chdb", "chdb_path": str(tmp_path / "chdb"), "schema": "refill_lab"}}}}))
    result = run_refill("detect", "--project-dir", str(LAB_PROJECT_DIR), "--profiles-dir", str(tmp_path), *args)
    assert result.returncode == 2
    assert result.stderr.startswith("refill: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "chdb").exists()  # nothing was opened, let alone written
