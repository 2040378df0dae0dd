"""Replays the seed's incident on the lab, and builds the from-scratch ground truth beside it.

The damage is never written directly: raw feeds arrive day by day, the lab's own daily
``dbt run`` materializes them while the prices feed lacks the gap days, and only then
are the missing prices backfilled, exactly as in production.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml

from refill.dbt.session import DbtSession
from refill.engine.sql import ident, literal
from refill.engine.warehouse import Warehouse
from refill.lab import LAB_PROJECT_DIR, data
from refill.lab.diff import ModelDiff, diff_schemas, lab_models

LAB_TARGET = "lab"
TRUTH_TARGET = "truth"


@dataclass(frozen=True)
class DamageRow:
    day: dt.date
    rows: int
    zero_usd: int


class Lab:
    """One lab warehouse: a data directory, its profiles, and the lab dbt project.

    The incident lives in ``schema`` (raw feeds in ``<schema>_raw``); the ground truth is
    the same project built from scratch with complete feeds into ``<schema>_truth``.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        data_dir: Path | None = None,
        schema: str = "refill_lab",
        scale: int = 1,
        threads: int = 2,
        quiet: bool = True,
        project_dir: Path = LAB_PROJECT_DIR,
        custom_settings: dict | None = None,
        artifacts_dir: Path | None = None,
        cli_vars: dict[str, dict] | None = None,  # target -> the --vars of every invocation on it
    ) -> None:
        self.work_dir = Path(work_dir).resolve()
        self.data_dir = Path(data_dir).resolve() if data_dir else self.work_dir / "chdb"
        self.schema = schema
        self.truth_schema = f"{schema}_truth"
        self.scale = scale
        self.threads = threads
        self.quiet = quiet
        self.project_dir = Path(project_dir).resolve()
        self.custom_settings = custom_settings
        self.cli_vars = dict(cli_vars or {})
        self.artifacts_dir = Path(artifacts_dir) if artifacts_dir else self.work_dir / "dbt"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.profiles_dir = self._write_profiles()
        self._sessions: dict[str, DbtSession] = {}
        self._manifests: dict[str, object] = {}
        self._warehouse: Warehouse | None = None

    # -- wiring ----------------------------------------------------------------------

    def _write_profiles(self) -> Path:
        def output(schema: str) -> dict:
            return {
                "type": "clickhouse",
                "driver": "chdb",
                "chdb_path": str(self.data_dir),
                "schema": schema,
                "threads": self.threads,
                **({"custom_settings": self.custom_settings} if self.custom_settings else {}),
            }

        profiles = {
            "refill_lab": {
                "target": LAB_TARGET,
                "outputs": {LAB_TARGET: output(self.schema), TRUTH_TARGET: output(self.truth_schema)},
            }
        }
        path = self.work_dir / "profiles"
        path.mkdir(exist_ok=True)
        (path / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False))
        return path

    def session(self, target: str = LAB_TARGET) -> DbtSession:
        if target not in self._sessions:
            self._sessions[target] = DbtSession(
                project_dir=self.project_dir,
                profiles_dir=self.profiles_dir,
                target=target,
                threads=self.threads,
                quiet=self.quiet,
                artifacts_dir=self.artifacts_dir,
                cli_vars=self.cli_vars.get(target, {}),
            )
        return self._sessions[target]

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.session().credentials, self.project_dir)
        return self._warehouse

    def manifest(self, target: str = LAB_TARGET):
        if target not in self._manifests:
            self._manifests[target] = self.session(target).parse()
        return self._manifests[target]

    def forget_parses(self) -> None:
        """The project's files changed: the next in-process dbt invocation parses them again."""
        self._manifests.clear()

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def deps(self) -> None:
        """Install the refill package into the lab (``packages.yml: - local: ../``)."""
        if not (self.project_dir / "dbt_packages" / "refill" / "dbt_project.yml").exists():
            self.session().invoke(["deps"])

    # -- the incident ------------------------------------------------------------------

    def replay_incident(
        self,
        gap_days: Iterable[dt.date],
        today: dt.date,
        *,
        history_start: dt.date = data.HISTORY_START,
    ) -> None:
        """History with complete prices, daily runs while the prices feed lacks
        ``gap_days``, then the feed is backfilled (the materialized models keep the zeros)."""
        gap = frozenset(gap_days)
        first_gap = min(gap)
        raw = f"{self.schema}_raw"
        self.deps()
        data.create_raw_tables(self.warehouse, raw)
        history_end = first_gap - dt.timedelta(days=1)
        data.insert_transfers(self.warehouse, raw, history_start, history_end, self.scale)
        data.insert_prices(self.warehouse, raw, history_start, history_end)
        session, manifest = self.session(), self.manifest()
        session.invoke(["seed"], manifest=manifest)
        session.invoke(["run"], manifest=manifest)
        for day in _days(first_gap, today):
            data.insert_transfers(self.warehouse, raw, day, day, self.scale)
            data.insert_prices(self.warehouse, raw, day, day, skip=gap)
            session.invoke(["run"], manifest=manifest)
        for day in sorted(gap):
            data.insert_prices(self.warehouse, raw, day, day)

    def build_truth(self, today: dt.date, *, history_start: dt.date = data.HISTORY_START) -> None:
        """The same project built once, from scratch, with every feed complete up to ``today``."""
        raw = f"{self.truth_schema}_raw"
        self.deps()
        data.create_raw_tables(self.warehouse, raw)
        data.insert_transfers(self.warehouse, raw, history_start, today, self.scale)
        data.insert_prices(self.warehouse, raw, history_start, today)
        session, manifest = self.session(TRUTH_TARGET), self.manifest(TRUTH_TARGET)
        session.invoke(["seed"], manifest=manifest)
        session.invoke(["run"], manifest=manifest)

    # -- what it looks like ------------------------------------------------------------

    def diff(self, models: Iterable[str] | None = None) -> list[ModelDiff]:
        """Per model: rows only in the incident schema and rows only in the truth."""
        names = list(models) if models is not None else lab_models(self.manifest())
        return diff_schemas(self.warehouse, self.schema, self.truth_schema, names)

    def damage(self, first: dt.date, last: dt.date) -> list[DamageRow]:
        """The seed's Step 3 query: rows and zero-USD rows per day in the balances table."""
        rows = self.warehouse.rows(
            f"""
            SELECT toDate(date) AS d, count() AS rows, countIf(balance_usd IS NULL OR balance_usd = 0) AS zero_usd
            FROM {ident(self.schema)}.int_execution_tokens_balances_daily
            WHERE toDate(date) BETWEEN {literal(first)} AND {literal(last)}
            GROUP BY d ORDER BY d
            """
        )
        return [DamageRow(day, int(n), int(zero)) for day, n, zero in rows]

    def gpay_api_on(self, day: dt.date) -> list[tuple[str, object]]:
        """The seed's second Step 3 query: (label, value) of the gpay API view on ``day``."""
        return [
            (label, value)
            for _, label, value in self.warehouse.rows(
                f"SELECT date, label, value FROM {ident(self.schema)}.api_execution_gpay_volume_payments_by_token_daily "
                f"WHERE date = {literal(day)} ORDER BY label"
            )
        ]


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    for offset in range((last - first).days + 1):
        yield first + dt.timedelta(days=offset)
