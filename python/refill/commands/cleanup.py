"""``refill cleanup``: drop the temporary tables interrupted dbt runs and refills left behind.

The candidates are what ``refill.orphan_tables_query`` (the ``refill_orphan_tables``
view) lists, in every database the project writes (custom schemas too). A table is dropped only when all of these hold:

* it belongs to the project: a dbt or staging leftover is named after a table of one of the
  project's models in the same database (a foreign ``x__dbt_backup`` is someone else's);
  a refill backup belongs to the refill run its marker comment names;
* it is older than ``--older-than`` (a young one probably belongs to a run going on now);
* it is not a staging table while a refill holds the target's lock (``__refill_stage``
  tables are reused by name), nor a backup of the lock holder's run;
* it is not a backup of a run whose journal is still pending (failed or interrupted):
  ``refill rollback --run ID`` needs exactly those tables;
* a refill backup carries the marker comment, and its run has a journal on this machine
  (finished or rolled back). A backup whose run is unknown here may belong to a refill
  started elsewhere: kept unless ``--drop-unjournaled-backups``.

While it drops, cleanup holds the target's refill lock, so no refill starts meanwhile.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from refill import render
from refill.dbt.graph import ProjectGraph, by_database
from refill.dbt.session import DbtSession
from refill.engine.warehouse import Warehouse
from refill.errors import BadInput, LockHeld
from refill.run.journal import PENDING
from refill.run.target import holder_info, is_stale, journal_store, read_holder, target_locks

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str = "--older-than") -> dt.timedelta:
    """``90s``, ``30m``, ``24h``, ``7d`` → a timedelta."""
    match = _DURATION.match(text or "")
    if not match:
        raise BadInput(f"{flag} must be a duration like 30m, 24h or 7d, got {text!r}")
    return dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Orphan:
    table_name: str
    kind: str
    run_id: str
    is_refill_backup: bool
    age_seconds: int  # the youngest copy, on a cluster
    replicas: int
    database: str = ""
    owned: bool = True  # named after a table of one of the project's models, in its database


@dataclass(frozen=True)
class Decision:
    orphan: Orphan
    drop: bool
    reason: str


@dataclass(frozen=True)
class CleanupResult:
    """What cleanup found and decided (``refill.render.cleanup_decisions`` prints it)."""

    schema: str  # the profile's; its custom schemas are searched too
    decisions: list[Decision]
    dry_run: bool
    holder: dict  # the live refill holding the target's lock, {} when none

    @property
    def to_drop(self) -> int:
        return sum(d.drop for d in self.decisions)


@dataclass(frozen=True)
class Protection:
    """What must survive: the lock holder's run, pending runs, and the runs known here."""

    older_than: dt.timedelta
    running_run: str | None = None  # a live refill holds the target's lock
    pending_runs: frozenset[str] = frozenset()
    known_runs: frozenset[str] = frozenset()
    drop_unjournaled_backups: bool = False


def decide(orphan: Orphan, protection: Protection) -> Decision:
    """Whether one orphan may be dropped, and why (pure: unit-tested without an engine)."""
    if orphan.kind != "refill_backup" and not orphan.owned:
        return Decision(orphan, False, "no model of this project owns it")
    if orphan.age_seconds < protection.older_than.total_seconds():
        return Decision(orphan, False, f"younger than {_human(protection.older_than.total_seconds())}")
    if orphan.kind == "refill_stage" and protection.running_run:
        return Decision(orphan, False, f"a refill is running (run {protection.running_run})")
    if orphan.kind == "refill_backup":
        if not orphan.is_refill_backup:
            return Decision(orphan, False, "named like a refill backup but not marked as one")
        if orphan.run_id == protection.running_run:
            return Decision(orphan, False, f"run {orphan.run_id} is running")
        if orphan.run_id in protection.pending_runs:
            return Decision(orphan, False, f"run {orphan.run_id} is unfinished: "
                                           f"`python -m refill rollback --run {orphan.run_id}` needs it")
        if orphan.run_id not in protection.known_runs and not protection.drop_unjournaled_backups:
            return Decision(orphan, False, f"no journal of run {orphan.run_id} here (it may be a refill "
                                           "started elsewhere; --drop-unjournaled-backups)")
    return Decision(orphan, True, f"{orphan.kind}, {_human(orphan.age_seconds)} old")


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{int(seconds)}s"


def list_orphans(session: DbtSession, manifest) -> list[Orphan]:
    """The candidates, one per table (on a cluster the youngest replica's copy decides)."""
    from refill.run.phases.finish import list_leftovers

    tables = by_database(node.relation for node in ProjectGraph.from_manifest(manifest).nodes.values())
    by_name: dict[tuple[str, str], Orphan] = {}
    for record in list_leftovers(session, manifest):
        database, name = str(record["database_name"]), str(record["table_name"])
        seen = by_name.get((database, name))
        age = int(record["age_seconds"])
        by_name[database, name] = Orphan(
            table_name=name,
            kind=str(record["kind"]),
            database=database,
            owned=str(record["model_name"]) in set(tables.get(database, ())),
            run_id=str(record["run_id"] or ""),
            is_refill_backup=bool(record["is_refill_backup"]) and (seen is None or seen.is_refill_backup),
            age_seconds=min(age, seen.age_seconds) if seen else age,
            replicas=(seen.replicas if seen else 0) + 1,
        )
    return [by_name[key] for key in sorted(by_name)]


def run_cleanup(
    *,
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    older_than: dt.timedelta,
    cli_vars: dict | None = None,
    dry_run: bool,
    drop_unjournaled_backups: bool = False,
    state_root: Path | None = None,
) -> int:
    session = DbtSession(project_dir=project_dir, profiles_dir=profiles_dir, target=target, quiet=True,
                         cli_vars=cli_vars or {})
    store = journal_store(state_root, session)
    manifest = session.parse()
    journals = {journal.run_id: journal.status for journal in store.runs()}
    with Warehouse(session.credentials, session.project_dir) as warehouse:
        holder = read_holder(warehouse, session.schema)
        live = holder if holder and not is_stale(holder) else {}
        locks = None
        if not live and not dry_run:
            locks = target_locks(session, store.directory, holder_info("cleanup", "refill cleanup"))
            try:
                locks.__enter__()
            except LockHeld:  # a refill took the lock meanwhile: protect it
                locks, live = None, read_holder(warehouse, session.schema)
        try:
            protection = Protection(
                older_than=older_than,
                running_run=str(live.get("run_id")) if live else None,
                pending_runs=frozenset(run for run, status in journals.items() if status in PENDING),
                known_runs=frozenset(journals),
                drop_unjournaled_backups=drop_unjournaled_backups,
            )
            decisions = [decide(orphan, protection) for orphan in list_orphans(session, manifest)]
            result = CleanupResult(session.schema, decisions, dry_run, live)
            render.emit(render.cleanup_decisions(result))
            if not dry_run:
                for decision in decisions:
                    if decision.drop:
                        orphan = decision.orphan
                        warehouse.drop_table(orphan.database, orphan.table_name)
                render.emit(render.cleanup_done(result))
        finally:
            if locks is not None:
                locks.__exit__(None, None, None)
    return 0


