"""How phases call dbt: package macros through run-operation, models through run."""

from __future__ import annotations

import json
import shlex
from typing import Any, Sequence

from refill.dbt.session import operation_command
from refill.run.phases.context import RunContext


def run_operation_statement(macro: str, args: dict[str, Any]) -> str:
    """The plan's line for one package macro call: the command ``run_operation_each`` runs."""
    return "dbt " + shlex.join(operation_command(macro, args))


def per_database(tables: dict[str, list[str]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """One call's args per database, for the package's macros that take one ``database`` and
    its ``tables`` (a cohort with a custom schema spans several databases)."""
    return [{"database": database, "tables": names, **args} for database, names in tables.items()]


def run_operation_each(ctx: RunContext, macro: str, calls: Sequence[dict[str, Any]]) -> dict[str, Any]:
    for args in calls:
        ctx.session.run_operation(macro, args, manifest=ctx.manifest)
    return {"macro": macro, "calls": list(calls)}


def run_statement(selector: Sequence[str], vars: dict[str, Any] | None = None) -> str:
    text = "dbt run " + " ".join(shlex.quote(part) for part in selector)
    if vars:
        text += " --vars " + shlex.quote(json.dumps(vars, sort_keys=True))
    return text
