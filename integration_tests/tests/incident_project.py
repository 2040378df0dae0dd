"""Small incident projects: a dbt project written by a test, its feeds replayed day by day
with a prices gap, the refill run as a user runs it, and the from-scratch truth beside it.

The lab carries one token warehouse; the shapes users report (a balance carried forward
from ``{{ this }}``, a Date32 key, a custom schema, a consumer with its own window …) each
need a project of their own. A test gives the models and the feeds; this module replays
the incident the way production lives it:

* history up to the day before the gap, built by one ``dbt run``;
* then one ``dbt run`` per day while the prices feed lacks the gap days;
* then the gap's prices arrive (the materialized models keep what they read);
* the truth is the same project built once, from scratch, with complete feeds, in its own
  target (schema ``<schema>_truth``).

``diff()`` compares every materialized model of the two targets row by row (physical
duplicates count), through each model's own relation in each target, so custom schemas and
aliases are compared where dbt really put them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from refill.engine.sql import ident, literal
from refill.lab.diff import ModelDiff
from refill.lab.simulator import LAB_TARGET, TRUTH_TARGET, Lab

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_NAME = "incident"
STATEFUL_COMMANDS = {"run", "plan", "rollback", "cleanup", "report"}

# rows of each raw table for one day: {table: [row, ...]}; rows are tuples in column order
Feed = Callable[[dt.date], Mapping[str, Sequence[tuple]]]


@dataclass
class RawTable:
    """A raw feed table in ``<schema>_raw``: the dbt source ``raw.<name>``."""

    name: str
    columns: str  # "day Date, token String, price Float64"
    order_by: str = "tuple()"
    is_prices: bool = False  # the prices feed: its gap days arrive only after the daily runs
    event_time: str | None = None  # the source's event_time (dbt microbatch filters it by batch)


@dataclass
class IncidentProject:
    """A dbt project in ``root`` that installs this checkout's refill package.

    ``models`` maps a path under ``models/`` to its SQL; ``extra_files`` maps any other
    project path (``macros/x.sql``, ``models/schema.yml``) to its text; ``vars`` become the
    project's vars (``prices_model`` defaults to ``prices_model``'s value). ``raw_schema`` is
    the sources' schema as written in ``_sources.yml`` (say ``{{ var('raw_schema') }}``);
    ``raw_vars`` maps a target's raw schema to the ``--vars`` every dbt invocation on that
    target passes, as a user of a project that needs vars to parse does.
    """

    root: Path
    models: Mapping[str, str]
    raw_tables: Sequence[RawTable]
    feed: Feed
    prices_model: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    extra_files: Mapping[str, str] = field(default_factory=dict)
    project_config: Mapping[str, Any] = field(default_factory=dict)
    schema: str = "inc"
    threads: int = 1
    custom_settings: Mapping[str, Any] | None = None
    raw_schema: str = "{{ target.schema }}_raw"
    raw_vars: Callable[[str], Mapping[str, Any]] | None = None  # raw schema -> --vars of its target
    truth_settings: Mapping[str, Any] | None = None  # the truth target's custom_settings, when they differ

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.project_dir = self.root / "project"
        self._write_project()
        _OPENED.append(self)
        self.lab = Lab(self.root / "work", schema=self.schema, threads=self.threads, quiet=True,
                       project_dir=self.project_dir, custom_settings=dict(self.custom_settings or {}),
                       artifacts_dir=self.root / "dbt",
                       cli_vars={target: self.cli_vars(target) for target in (LAB_TARGET, TRUTH_TARGET)})
        if self.truth_settings is not None:
            # e.g. a from-scratch build of a daily-partitioned model over more than 100 days
            # needs max_partitions_per_insert_block raised, where the incident keeps the default
            path = self.lab.profiles_dir / "profiles.yml"
            profiles = yaml.safe_load(path.read_text())
            profiles["refill_lab"]["outputs"][TRUTH_TARGET]["custom_settings"] = dict(self.truth_settings)
            path.write_text(yaml.safe_dump(profiles, sort_keys=False))

    def raw_of(self, target: str) -> str:
        """The database of the raw feeds of ``target``."""
        return f"{self.schema}_raw" if target == LAB_TARGET else f"{self.schema}_truth_raw"

    def cli_vars(self, target: str = LAB_TARGET) -> dict[str, Any]:
        return dict(self.raw_vars(self.raw_of(target))) if self.raw_vars else {}

    # -- the project -----------------------------------------------------------------

    def _write_project(self) -> None:
        project = {
            "name": PROJECT_NAME,
            "version": "1.0.0",
            "config-version": 2,
            "profile": "refill_lab",
            "model-paths": ["models"],
            "macro-paths": ["macros"],
            "seed-paths": ["seeds"],
            "vars": {"prices_model": self.prices_model, **dict(self.vars)},
            **dict(self.project_config),
        }
        files = {
            "dbt_project.yml": yaml.safe_dump(project, sort_keys=False),
            "packages.yml": f"packages:\n  - local: {REPO_ROOT}\n",
            "models/_sources.yml": yaml.safe_dump({
                "version": 2,
                "sources": [{
                    "name": "raw",
                    "schema": self.raw_schema,
                    "tables": [{"name": t.name, **({"config": {"event_time": t.event_time}} if t.event_time else {})}
                               for t in self.raw_tables],
                }],
            }, sort_keys=False),
            **{f"models/{path}": textwrap.dedent(sql).strip() + "\n" for path, sql in self.models.items()},
            **{path: textwrap.dedent(text).strip() + "\n" for path, text in self.extra_files.items()},
        }
        for relative, text in files.items():
            path = self.project_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (self.project_dir / "macros").mkdir(exist_ok=True)

    # -- the incident ----------------------------------------------------------------

    def _create_raw(self, raw_schema: str) -> None:
        warehouse = self.lab.warehouse
        warehouse.execute(f"CREATE DATABASE IF NOT EXISTS {ident(raw_schema)}")
        for t in self.raw_tables:
            warehouse.execute(f"CREATE TABLE IF NOT EXISTS {ident(raw_schema)}.{ident(t.name)} ({t.columns})"
                              f" ENGINE = MergeTree ORDER BY {t.order_by}")

    def _insert(self, raw_schema: str, first: dt.date, last: dt.date, *, skip_prices: frozenset = frozenset(),
                only_prices: bool = False) -> None:
        warehouse = self.lab.warehouse
        by_name = {t.name: t for t in self.raw_tables}
        for day in days(first, last):
            for name, rows in self.feed(day).items():
                table = by_name[name]
                if (table.is_prices and day in skip_prices) or (only_prices and not table.is_prices) or not rows:
                    continue
                values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
                warehouse.execute(f"INSERT INTO {ident(raw_schema)}.{ident(name)} VALUES {values}")

    def replay(self, gap_days: Iterable[dt.date], today: dt.date, *, history_start: dt.date,
               backfill: bool = True, run_every: int = 1) -> None:
        """History, daily runs while the prices feed lacks ``gap_days``, then the backfill.

        ``backfill=False`` stops before the gap's prices arrive (a refill started too early);
        ``run_every=N`` runs dbt every N-th day (and on ``today``), for gaps months back.
        """
        gap = frozenset(gap_days)
        first_gap = min(gap)
        raw = self.raw_of(LAB_TARGET)
        self.lab.deps()
        self._create_raw(raw)
        self._insert(raw, history_start, first_gap - dt.timedelta(days=1))
        self.dbt("run")
        for day in days(first_gap, today):
            self._insert(raw, day, day, skip_prices=gap)
            if (day - first_gap).days % run_every == 0 or day == today:
                self.dbt("run")
        if backfill:
            self.backfill(gap)

    def backfill(self, gap_days: Iterable[dt.date]) -> None:
        """The gap's prices arrive in the raw feed (the materialized models keep what they read)."""
        for day in sorted(gap_days):
            self._insert(f"{self.schema}_raw", day, day, only_prices=True)

    def build_truth(self, today: dt.date, *, history_start: dt.date) -> None:
        """The same project from scratch with every feed complete up to ``today``."""
        self.build(today, history_start=history_start, target=TRUTH_TARGET)

    def build(self, today: dt.date, *, history_start: dt.date, target: str = LAB_TARGET) -> None:
        """``target`` built once from scratch, every feed complete up to ``today`` (no incident)."""
        raw = self.raw_of(target)
        self.lab.deps()
        self._create_raw(raw)
        self._insert(raw, history_start, today)
        self.dbt("run", target=target)

    def dbt(self, *args: str, target: str = LAB_TARGET, vars: dict | None = None):
        """One in-process dbt invocation on ``target``; raises StepFailed when dbt fails."""
        session = self.lab.session(target)
        return session.invoke(list(args), manifest=self.lab.manifest(target), vars=vars)

    def copy_to(self, root: Path, **changes) -> "IncidentProject":
        """The same project over a copy of this warehouse (replay once, refill many ways):
        ``changes`` replace fields (``models``…); this project lets go of its data first."""
        self.close()
        root = Path(root).resolve()
        shutil.copytree(self.lab.data_dir, root / "work" / "chdb", symlinks=True)  # Atomic metadata links relatively
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        copy = IncidentProject(**{**fields, "root": root, **changes})
        copy.lab.deps()
        return copy

    def write_model(self, path: str, sql: str) -> None:
        """Change a model after the replay (a user editing it before the refill)."""
        target = self.project_dir / "models" / path
        target.write_text(textwrap.dedent(sql).strip() + "\n")
        self.lab.forget_parses()

    # -- what a user runs ------------------------------------------------------------

    def refill(self, *args: str, timeout: int = 900, env: Mapping[str, str] | None = None
               ) -> subprocess.CompletedProcess:
        """``python -m refill <args> --project-dir … --profiles-dir … [--state-dir …]`` in a
        fresh process, as a user runs it (this process lets go of the data directory first).
        ``env`` adds variables (say ``REFILL_FAULT_INJECT`` to crash it at a step)."""
        self.close()
        extra = dict(env or {})
        env = {**os.environ, "DBT_TARGET_PATH": str(self.root / "cli-target"),
               "DBT_LOG_PATH": str(self.root / "cli-logs")}
        env.pop("REFILL_FAULT_INJECT", None)
        env.update(extra)
        # only the commands that keep journals take --state-dir
        state = ["--state-dir", str(self.root / "state")] if args[0] in STATEFUL_COMMANDS else []
        return subprocess.run(
            [sys.executable, "-m", "refill", *args, "--project-dir", str(self.project_dir),
             "--profiles-dir", str(self.lab.profiles_dir), *state],
            capture_output=True, text=True, timeout=timeout, env=env,
        )

    # -- what it looks like ----------------------------------------------------------

    def relations(self, target: str = LAB_TARGET) -> dict[str, str]:
        """``{model name: relation}`` of every materialized model of the project on ``target``."""
        manifest = self.lab.manifest(target)
        return {
            node.name: node.relation_name
            for node in manifest.nodes.values()
            if node.resource_type in ("model", "seed") and node.package_name == PROJECT_NAME
            and node.config.materialized not in ("ephemeral", "view") and node.config.enabled
        }

    def diff(self, models: Iterable[str] | None = None) -> list[ModelDiff]:
        """Per model: rows only in the incident and rows only in the truth (multisets, no FINAL)."""
        ours, truth = self.relations(LAB_TARGET), self.relations(TRUTH_TARGET)
        results = []
        for name in sorted(models if models is not None else ours):
            a, b = ours[name], truth[name]
            only_a, only_b = self.lab.warehouse.rows(
                f"SELECT (SELECT count() FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})),"
                f" (SELECT count() FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
            )[0]
            results.append(ModelDiff(name, int(only_a), int(only_b)))
        return results

    def rows(self, sql: str) -> list[tuple]:
        return self.lab.warehouse.rows(sql)

    def checksums(self) -> dict[str, tuple[int, int]]:
        """(rows, order-independent row hash) of every MergeTree table of the incident target
        (every schema it writes, raw feeds excluded): "nothing was written" is these, unchanged."""
        tables = self.lab.warehouse.rows(
            "SELECT database, name FROM system.tables WHERE engine LIKE '%MergeTree%'"
            f" AND startsWith(database, {literal(self.schema)}) AND NOT startsWith(database, {literal(self.schema + '_truth')})"
            f" AND database != {literal(self.schema + '_raw')} ORDER BY database, name"
        )
        result = {}
        for schema, name in tables:
            n, digest = self.lab.warehouse.rows(
                f"SELECT count(), groupBitXor(cityHash64(*)) FROM {ident(schema)}.{ident(name)}")[0]
            result[f"{schema}.{name}"] = (int(n), int(digest))
        return result

    def close(self) -> None:
        self.lab.close()

    def __enter__(self) -> "IncidentProject":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Every project made, so a test that reads the warehouse after its ``with`` block (its last
# diff) cannot leave this process on that data directory: chDB opens one directory per
# process, and the next test's would fail to open.
_OPENED: "list[IncidentProject]" = []  # strong: a dead project would not close its client


def close_all() -> None:
    """Let go of every project's data directory (conftest calls it after each test)."""
    while _OPENED:
        _OPENED.pop().close()


def days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    for offset in range((last - first).days + 1):
        yield first + dt.timedelta(days=offset)


def differing(diffs: Iterable[ModelDiff]) -> dict[str, tuple[int, int]]:
    """``{model: (only ours, only truth)}`` of the models that differ: ``{}`` means equal."""
    return {d.model: (d.only_left, d.only_right) for d in diffs if d.differing}


def run_args(gap: dt.date, today: dt.date, *extra: str) -> list[str]:
    return ["run", "--from-date", gap.isoformat(), "--today", today.isoformat(), *extra]


def report_of(path: Path) -> dict:
    return json.loads(Path(path).read_text())
