"""The macros on the incident lab itself: the canaries the lab configures
(var refill_canaries) fire on the replayed incident and stay quiet on the ground truth,
built from the same project with complete feeds."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import SEED_GAP, SEED_TODAY

pytestmark = pytest.mark.engine

WINDOW = json.dumps({"start_date": str(SEED_GAP), "end_date": str(SEED_TODAY)})


def test_configured_canaries_flag_the_incident_and_pass_the_ground_truth(seed_lab):
    incident = seed_lab.session().invoke(["run-operation", "refill.canary", "--args", WINDOW],
                                         manifest=seed_lab.manifest(), check=False)
    assert not incident.success
    truth = seed_lab.session("truth").invoke(["run-operation", "refill.canary", "--args", WINDOW],
                                             manifest=seed_lab.manifest("truth"), check=False)
    assert truth.success

    query = ("{{ refill.canary_query('int_execution_tokens_supply_holders_daily', 'date', 'supply_usd', "
             f"['token_address'], '{SEED_GAP}', '{SEED_TODAY}', zero_is_anomaly=true) }}}}")
    shown = seed_lab.session().invoke(["show", "--inline", query, "--limit", "100"], manifest=seed_lab.manifest())
    table = shown.result.results[0].agate_table
    flagged = {(row["day"], row["reason"]) for row in table}
    assert flagged == {(dt.date(2026, 4, 17), "zero or NULL")}  # the gap day, and only it
    assert len(table) == 4  # one per token
