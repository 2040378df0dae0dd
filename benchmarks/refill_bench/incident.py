"""Builds one scenario's warehouses: the damaged one, and the from-scratch truth as files.

The damage is produced the way production produced it: the history is built, the raw
feeds advance to ``today`` while the prices feed lacks the gap day, the project runs over
those days, and only then is the missing price backfilled. The daily runs between the gap
and its discovery are replayed as one catch-up run: the incremental filter starts at each
model's last day, so every model computes the gap day without its price exactly as the
daily runs did, in one invocation instead of one per day.

The truth is the same project built once with complete feeds, in a data directory of its
own, and kept as one Native file per model plus a fingerprint of each. So the incident's
directory holds only what production holds: every process a flow starts loads the same
tables a production engine would, not twice as many.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from refill.dbt.session import DbtSession
from refill.engine.sql import ident, literal
from refill.engine.warehouse import Warehouse
from refill.lab import data
from refill_bench.config import Scenario
from refill_bench.project import SCHEMA, TARGET, TRUTH_SCHEMA, TRUTH_TARGET

FINGERPRINTS_FILE = "fingerprints.json"


@dataclass(frozen=True)
class IncidentFacts:
    """What the built incident looks like (sanity checks the harness reports)."""

    zero_usd_rows_on_gap_day: int
    balance_rows: int
    transfer_rows: int


def _session(project_dir: Path, target: str, work_dir: Path, threads: int) -> DbtSession:
    return DbtSession(project_dir=project_dir, profiles_dir=project_dir, target=target, threads=threads,
                      quiet=True, artifacts_dir=work_dir / f"dbt-{target}")


def build_incident(scenario: Scenario, project_dir: Path, work_dir: Path) -> IncidentFacts:
    """The damaged warehouse, in the data directory of the profile's ``bench`` target."""
    gap, today = scenario.incident.gap, scenario.incident.today
    start, scale = scenario.data.history_start, scenario.data.scale
    session = _session(project_dir, TARGET, work_dir, scenario.threads)
    session.invoke(["deps"])
    with Warehouse(session.credentials, project_dir) as warehouse:
        raw = f"{SCHEMA}_raw"
        data.create_raw_tables(warehouse, raw)
        data.insert_transfers(warehouse, raw, start, gap - dt.timedelta(days=1), scale)
        data.insert_prices(warehouse, raw, start, gap - dt.timedelta(days=1))
        manifest = session.parse()
        session.invoke(["seed"], manifest=manifest)
        session.invoke(["run"], manifest=manifest)
        data.insert_transfers(warehouse, raw, gap, today, scale)
        data.insert_prices(warehouse, raw, gap, today, skip=frozenset({gap}))
        session.invoke(["run"], manifest=manifest)
        data.insert_prices(warehouse, raw, gap, gap)  # the feed is backfilled; the models keep the zeros
        return _facts(warehouse, gap)


def build_truth(scenario: Scenario, project_dir: Path, work_dir: Path, out_dir: Path, models: list[str]) -> None:
    """The project built from scratch with complete feeds, exported model by model."""
    start, today, scale = scenario.data.history_start, scenario.incident.today, scenario.data.scale
    session = _session(project_dir, TRUTH_TARGET, work_dir, scenario.threads)
    session.invoke(["deps"])
    with Warehouse(session.credentials, project_dir) as warehouse:
        raw = f"{TRUTH_SCHEMA}_raw"
        data.create_raw_tables(warehouse, raw)
        data.insert_transfers(warehouse, raw, start, today, scale)
        data.insert_prices(warehouse, raw, start, today)
        manifest = session.parse()
        session.invoke(["seed"], manifest=manifest)
        session.invoke(["run"], manifest=manifest)
        out_dir.mkdir(parents=True, exist_ok=True)
        prints = {}
        for model in models:
            relation = f"{ident(TRUTH_SCHEMA)}.{ident(model)}"
            warehouse.execute(f"INSERT INTO FUNCTION file({literal(str(truth_file(out_dir, model)))}, Native) "
                              f"SELECT * FROM {relation}")
            prints[model] = fingerprint(warehouse, relation)
        (out_dir / FINGERPRINTS_FILE).write_text(json.dumps(prints, indent=1))


def truth_file(out_dir: Path, model: str) -> Path:
    return Path(out_dir) / f"{model}.native.zst"


def fingerprint(warehouse: Warehouse, relation: str) -> list[int]:
    """(rows, order-independent sum of row hashes): equal for equal multisets of rows."""
    rows, digest = warehouse.rows(f"SELECT count(), sum(cityHash64(*)) FROM {relation}")[0]
    return [int(rows), int(digest)]


def _facts(warehouse: Warehouse, gap: dt.date) -> IncidentFacts:
    balances = f"{ident(SCHEMA)}.int_execution_tokens_balances_daily"
    return IncidentFacts(
        zero_usd_rows_on_gap_day=int(warehouse.scalar(
            f"SELECT count() FROM {balances} WHERE date = toDate('{gap}') AND balance_usd = 0")),
        balance_rows=int(warehouse.scalar(f"SELECT count() FROM {balances}")),
        transfer_rows=int(warehouse.scalar(f"SELECT count() FROM {ident(SCHEMA + '_raw')}.transfers")),
    )


def main_incident(argv: Sequence[str]) -> int:
    scenario_file, project_dir, work_dir, facts_file = argv
    scenario = Scenario.from_dict(json.loads(Path(scenario_file).read_text()))
    facts = build_incident(scenario, Path(project_dir), Path(work_dir))
    Path(facts_file).write_text(json.dumps(asdict(facts), indent=2))
    return 0


def main_truth(argv: Sequence[str]) -> int:
    scenario_file, project_dir, work_dir, out_dir, models_file = argv
    scenario = Scenario.from_dict(json.loads(Path(scenario_file).read_text()))
    build_truth(scenario, Path(project_dir), Path(work_dir), Path(out_dir), json.loads(Path(models_file).read_text()))
    return 0
