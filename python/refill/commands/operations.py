"""``refill kill-mutations`` and ``refill canary``: the package's operations, one command each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from refill import render
from refill.dbt.graph import ProjectGraph, by_database
from refill.dbt.session import DbtSession
from refill.dbt.settings import resolve_settings
from refill.errors import BadInput, CheckFailed
from refill.run.phases.canary import LEAD_DAYS, Violation, scan
from refill.run.plan import month_start


def _models(graph: ProjectGraph, names: list[str]) -> list[str]:
    """The unique ids of model ``names``; an unknown name is bad input."""
    unknown = [name for name in names if graph.by_name(name) is None]
    if unknown:
        raise BadInput(f"not a model of this project: {', '.join(repr(n) for n in unknown)}")
    return [graph.by_name(name).unique_id for name in names]


def kill_mutations(session: DbtSession, tables: list[str], *, dry_run: bool) -> int:
    """Kill the failed mutations of ``tables`` (model names, each where dbt put it), or of
    every database the project writes."""
    manifest = session.parse()
    graph = ProjectGraph.from_manifest(manifest)
    if tables:
        scopes = by_database(graph.relations(_models(graph, tables)).values()).items()
    else:
        scopes = [(database, None) for database in sorted({session.schema, *graph.databases()})]
    for database, names in scopes:
        args: dict = {"database": database, "dry_run": dry_run}
        if names:
            args["tables"] = names
        session.run_operation("kill_failed_mutations", args, manifest=manifest)
    return 0


@dataclass(frozen=True)
class CanaryRun:
    """What ``refill canary`` scanned and found (``refill.render.canary_text`` prints it)."""

    first_day: dt.date  # 3 days before the first month: a step on the month boundary is inside
    end: dt.date
    scans: int
    violations: list[Violation]


def scan_canaries(session: DbtSession, *, first_month: dt.date, end: dt.date, models: list[str]) -> CanaryRun:
    """The project's ``refill_canaries`` (or those of ``models``) over the window."""
    settings = resolve_settings(session.project_dir, cli_vars=session.cli_vars)
    canaries = [c for c in settings.canaries if not models or c.model in models]
    if not canaries:
        raise BadInput("no canary to run: declare refill_canaries in dbt_project.yml vars"
                       + (f" for {', '.join(models)}" if models else ""))
    manifest = session.parse()
    _models(ProjectGraph.from_manifest(manifest), [c.model for c in canaries])
    start = month_start(first_month)
    violations = [v for canary in canaries for v in scan(session, manifest, canary, start, end)]
    return CanaryRun(start - dt.timedelta(days=LEAD_DAYS), end, len(canaries), violations)


def run_canaries(session: DbtSession, *, first_month: dt.date, end: dt.date, models: list[str]) -> int:
    """``refill canary``: the scans' result printed; exit 3 on a violation."""
    run = scan_canaries(session, first_month=first_month, end=end, models=models)
    render.emit(render.canary_text(run))
    if run.violations:
        raise CheckFailed(f"canary failed: {len(run.violations)} violation(s)")
    return 0
