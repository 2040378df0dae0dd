"""``refill detect``: find the days a prices gap damaged, and the ``refill run`` that repairs them.

Two signals over a window of days ending ``today``:

* the cause — days an entity of the prices model has no price (interior gaps of each
  entity, and trailing days on which the whole feed is silent). A refill cannot recompute
  a day without its price: those days need the feed backfilled first;
* the damage — rows of the models downstream of prices whose price-derived columns (column
  lineage, as verify reads them) read 0/NULL on a day their entity has a price, and weeks or
  months that differ from a recompute (``refill.run.checks.price_damage_scan``): what a backfilled
  feed leaves in materialized tables until they are refilled.

A feed normally lands a day late: the last ``refill_price_lag_days`` days (default 1,
``--expected-lag``) are not "missing" while nothing has arrived for them.

Read-only: one dbt parse and SELECTs.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from refill import render
from refill.dbt.graph import MATERIALIZED, ProjectGraph
from refill.dbt.session import DbtSession
from refill.dbt.settings import project_vars, resolve_settings
from refill.engine.sql import ident
from refill.engine.warehouse import Warehouse
from refill.errors import BadInput, ExitCode, StepFailed
from refill.lineage import audit
from refill.lineage import model_lineage
from refill.lineage.lineage_scan import key_columns
from refill.run import checks
from refill.run.plan import MAX_LOOKBACK_DAYS
from refill.run.price_coverage import entity_columns, missing_days, priced_entities

DEFAULT_WINDOW_DAYS = 60


@dataclass(frozen=True)
class DetectOptions:
    today: dt.date
    window_days: int = DEFAULT_WINDOW_DAYS
    project_dir: Path = Path(".")
    profiles_dir: Path | None = None
    target: str | None = None
    prices_model: str | None = None
    # flags the user typed that select the project and target: repeated in the printed command
    passthrough: tuple[str, ...] = ()
    cli_vars: dict = field(default_factory=dict)  # the user's --vars
    expected_lag: int | None = None  # --expected-lag; None: var refill_price_lag_days (default 1)

    @property
    def first(self) -> dt.date:
        return self.today - dt.timedelta(days=self.window_days - 1)


@dataclass
class DayFinding:
    day: dt.date
    missing_entities: list[str] = field(default_factory=list)
    damaged: dict[str, int] = field(default_factory=dict)  # model -> rows


@dataclass
class Detection:
    target: str
    schema: str
    first: dt.date
    last: dt.date
    prices_model: str
    entity_columns: tuple[str, ...]
    entities: int
    models_checked: list[str]
    days: list[DayFinding]
    command: str | None
    not_checked: dict[str, str] = field(default_factory=dict)  # model -> why it was not checked
    lag_days: int = 0
    # weeks/months (model, unit, first day, keys off) that differ from a recompute of their SQL
    periods: list[tuple[str, str, dt.date, int]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.days and not self.periods

    @property
    def from_date(self) -> dt.date | None:
        """The first damaged or unpriced day; a week or month alone gives its first day in the
        window (a refill from a day inside it recomputes the whole period anyway)."""
        if self.days:
            return self.days[0].day
        return min(first for _, _, first, _ in self.periods) if self.periods else None

    @property
    def backfill_first(self) -> bool:
        return any(d.missing_entities for d in self.days)

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "schema": self.schema,
            "window": {"first": self.first.isoformat(), "last": self.last.isoformat(),
                       "days": (self.last - self.first).days + 1},
            "prices_model": self.prices_model,
            "entity_columns": list(self.entity_columns),
            "entities": self.entities,
            "models_checked": self.models_checked,
            "not_checked": self.not_checked,
            "expected_lag_days": self.lag_days,
            "days": [{"day": d.day.isoformat(), "missing_entities": d.missing_entities, "damaged": d.damaged}
                     for d in self.days],
            "periods": [{"model": m, "unit": u, "first_day": p.isoformat(), "keys": n} for m, u, p, n in self.periods],
            "clean": self.clean,
            "backfill_first": self.backfill_first,
            "from_date": self.from_date.isoformat() if self.from_date else None,
            "command": self.command,
        }


def repair_command(from_date: dt.date, today: dt.date, passthrough: Sequence[str]) -> str:
    return shlex.join(["python", "-m", "refill", "run", "--from-date", from_date.isoformat(),
                       "--today", today.isoformat(), *passthrough])


def detect(options: DetectOptions) -> Detection:
    if not 1 <= options.window_days <= MAX_LOOKBACK_DAYS:
        raise BadInput(f"--window-days must be between 1 and {MAX_LOOKBACK_DAYS}, got {options.window_days}")
    session = DbtSession(project_dir=options.project_dir, profiles_dir=options.profiles_dir,
                         target=options.target, quiet=True, cli_vars=options.cli_vars)
    settings = resolve_settings(session.project_dir, prices_model=options.prices_model, cli_vars=session.cli_vars)
    manifest = session.parse()
    graph = ProjectGraph.from_manifest(manifest)
    prices = graph.by_name(settings.prices_model)
    if prices is None:
        raise BadInput(f"prices model '{settings.prices_model}' is not a model of this project (--prices-model)")
    downstream = [graph.nodes[uid] for uid in graph.topological(graph.descendants({prices.unique_id}))]
    materialized = [n for n in downstream if n.resource_type == "model" and n.materialized in MATERIALIZED]
    first, last = options.first, options.today
    lag = settings.price_lag_days if options.expected_lag is None else options.expected_lag
    if lag < 0:
        raise BadInput(f"--expected-lag must be 0 or more days, got {lag}")
    with Warehouse(session.credentials, session.project_dir) as warehouse:
        priced_at = prices.relation
        columns = checks.relation_columns(warehouse, priced_at.database, priced_at.identifier)
        if not columns:
            raise StepFailed(f"prices model {settings.prices_model} does not exist as {priced_at}: build it first")
        # the prices model's own date column (price_date …), as verify reads it
        date_column = checks.date_column_of(warehouse, priced_at.database, priced_at.identifier, columns,
                                            settings.date_column)
        if date_column is None:
            raise BadInput(f"prices model {settings.prices_model} has no date column refill can tell "
                           "(none, or several and none is its partition key's): set var refill_date_column")
        group_by = next((c.group_by for c in settings.canaries if c.model == settings.prices_model and c.group_by), ())
        unique_key = manifest.nodes[prices.unique_id].config.get("unique_key") or ()
        unique_key = [c for key in ([unique_key] if isinstance(unique_key, str) else unique_key)
                      for c in key_columns(f"({key})")]
        entities, _ = entity_columns(columns, date_column, declared=settings.price_entity, canary_group_by=group_by,
                                     unique_key=unique_key)
        priced = priced_entities(warehouse, priced_at.database, priced_at.identifier, date_column, entities,
                                 first, last)
        missing = missing_days(priced, first, last, lag_days=lag)
        prices_sql = checks.source_of(warehouse, priced_at.database, priced_at.identifier)
        models, schema = model_lineage.trace(session, manifest, graph, warehouse, settings.prices_model,
                                             [n.name for n in materialized],
                                             audit.price_overrides(project_vars(session.project_dir, session.cli_vars)))
        holders = {(m.database.lower(), m.table.lower()): m.name for m in models.values()}
        memo: dict = {}  # (model, column): Grain, shared by every model the scan asks about
        window = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        scan = checks.price_damage_scan(
            warehouse, [models[n.name] for n in materialized if n.name in models], window,
            grain_of=lambda model, column: model_lineage.grain(models, schema, holders, model, column, memo=memo),
            date_column=settings.date_column,
            priced_days_sql=f"SELECT DISTINCT toDate({ident(date_column)}) FROM {prices_sql}",
            entity_columns=entities,
            priced_entity_days_sql=(f"SELECT DISTINCT {', '.join(ident(c) for c in entities)}, toDate({ident(date_column)})"
                                    f" FROM {prices_sql}"),
        )
        damaged: dict[dt.date, dict[str, int]] = {}
        for z in scan.zero:
            damaged.setdefault(z.day, {})[z.relation] = max(damaged.get(z.day, {}).get(z.relation, 0), z.rows)
        periods = [(p.relation, p.unit, max(p.period, first), p.rows) for p in scan.periods]
    days = [DayFinding(day, missing.get(day, []), damaged.get(day, {})) for day in sorted({*missing, *damaged})]
    found = Detection(session.target_name, session.schema, first, last, settings.prices_model, entities,
                      len(priced), sorted(scan.checked), days, None, not_checked=scan.not_checked, lag_days=lag,
                      periods=sorted(periods, key=lambda p: (p[2], p[0])))
    if found.from_date is not None:
        found.command = repair_command(found.from_date, last, options.passthrough)
    return found


def run_detect(options: DetectOptions, *, output_format: str = "text") -> int:
    found = detect(options)
    render.emit(render.detection_json(found) if output_format == "json" else render.detection_text(found))
    return ExitCode.OK if found.clean else ExitCode.CHECK_FAILED
