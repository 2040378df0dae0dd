"""The refill contract, checked before merge (``python -m refill lint``) and before a refill.

Public API::

    check_manifest(manifest, *, tag="refill_append", allow_insert_overwrite=None, select=None,
                   project_dir=None) -> list[Finding]
    lint_paths(paths, *, tag=None, allow_insert_overwrite=None, select=None) -> LintResult
    lint_project(project_dir, *, tag=None, allow_insert_overwrite=None, select=None) -> LintResult
    raise_for_errors(findings) -> None      # ContractViolation (exit 5) on any error
    reads_own_table(findings) -> set[str]   # models that carry state forward from {{ this }}
    cohort_shapes(project_dir, *, tag=None) -> list[CohortShape]
    month_dependent_config(manifest, *, tag, select=None, project_dir=None) -> list[MonthDependence]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from refill.errors import ContractViolation
from refill.lint.files import project_models, select_files
from refill.lint.finding import ERROR, WARNING, Finding
from refill.lint.manifest import default_project_dir, manifest_models
from refill.lint.parsetime import MonthDependence, month_dependent_models
from refill.lint.project import MacroSource
from refill.lint.rules import RULES, Rule
from refill.lint.runner import LintResult, lint_models

__all__ = [
    "ERROR", "WARNING", "Finding", "LintResult", "RULES", "Rule",
    "check_manifest", "lint_paths", "lint_project", "raise_for_errors", "reads_own_table",
    "CohortShape", "cohort_shapes", "MonthDependence", "month_dependent_config",
]


def check_manifest(
    manifest: Any,
    *,
    tag: str = "refill_append",
    allow_insert_overwrite: bool | None = None,
    select: set[str] | None = None,
    project_dir: Path | str | None = None,
) -> list[Finding]:
    """The orchestrator's preflight: the cohort of a parsed project against the contract.

    ``manifest`` is dbt's ``Manifest``, a ``manifest.json`` path or its loaded dict.
    ``allow_insert_overwrite`` None reads the project var ``refill_allow_insert_overwrite``
    from ``project_dir`` (default: the project dbt last parsed in this process).
    """
    root = Path(project_dir) if project_dir else default_project_dir(
        Path(manifest) if isinstance(manifest, (str, Path)) else None)
    models = manifest_models(manifest, root)
    return lint_models(models, tag=tag, allow_insert_overwrite=allow_insert_overwrite, select=select).findings


def month_dependent_config(
    manifest: Any,
    *,
    tag: str,
    select: set[str] | None = None,
    project_dir: Path | str | None = None,
) -> list[MonthDependence]:
    """The cohort models of a manifest parsed *without* the month vars whose config would
    come out differently *with* them (see refill.lint.parsetime): empty means that manifest
    can serve the month rewrite, and a refill needs one parse."""
    root = Path(project_dir) if project_dir else default_project_dir(
        Path(manifest) if isinstance(manifest, (str, Path)) else None)
    models = [m for m in manifest_models(manifest, root) if not select or m.name in select]
    return month_dependent_models(models, tag=tag)


def lint_paths(
    paths: Iterable[str | Path],
    *,
    tag: str | None = None,
    allow_insert_overwrite: bool | None = None,
    select: set[str] | None = None,
) -> LintResult:
    """Files mode on model files, directories or globs (a path that does not exist is skipped)."""
    selection = select_files([str(p) for p in paths])
    return lint_models(selection.models, tag=tag, allow_insert_overwrite=allow_insert_overwrite, select=select)


def lint_project(
    project_dir: Path | str,
    *,
    tag: str | None = None,
    allow_insert_overwrite: bool | None = None,
    select: set[str] | None = None,
) -> LintResult:
    """Files mode on every model of a project."""
    selection = project_models(Path(project_dir))
    return lint_models(selection.models, tag=tag, allow_insert_overwrite=allow_insert_overwrite, select=select)


def raise_for_errors(findings: Iterable[Finding]) -> None:
    """Refuses (ContractViolation, exit 5) if any finding is an error; warnings pass."""
    errors = [f for f in findings if f.is_error]
    if not errors:
        return
    by_model: dict[str, list[str]] = {}
    for finding in errors:
        codes = by_model.setdefault(finding.model, [])
        if finding.code not in codes:
            codes.append(finding.code)
    listed = ", ".join(f"{model} ({', '.join(codes)})" for model, codes in sorted(by_model.items()))
    raise ContractViolation(
        f"{len(by_model)} cohort model(s) break the refill contract: {listed}; "
        "run `python -m refill lint` for details",
    )


def reads_own_table(findings: Iterable[Finding]) -> set[str]:
    """The models of ``findings`` that read ``{{ this }}`` as rows when incremental (RF011):
    a month's rewrite must give them the live table, every earlier month final."""
    from refill.lint.rules import ReadsOwnTable

    return {f.model for f in findings if f.code == ReadsOwnTable.code}


@dataclass(frozen=True)
class CohortShape:
    """A cohort model's output as its month rewrite renders it (files mode, no dbt)."""

    model: str
    date_column: str | None
    columns: tuple[str, ...]  # the output columns, in order
    keys: tuple[str, ...]     # the columns of order_by


def cohort_shapes(project_dir: Path | str, *, tag: str | None = None,
                  extra_macros: tuple[MacroSource, ...] = ()) -> list[CohortShape]:
    """Every tagged model's date column, output columns and sorting key, read from the
    SQL it renders for a month refill (models that do not render or parse are left out).
    ``extra_macros`` are macros the project is about to get (init's shims)."""
    from refill.lint.files import ProjectCache
    from refill.lint.rules import _date_column, _key_text
    from refill.lint.runner import cohort_facts
    from refill.lint.scenario import MONTH_REFILL, MONTH_SCENARIOS
    from refill.lint.sqlshape import NotSQL, column_names

    projects = ProjectCache()
    project = projects.get(Path(project_dir).resolve())
    project.macro_sources = (*project.macros, *extra_macros)
    shapes = []
    for facts in cohort_facts(project_models(Path(project_dir), projects).models, tag):
        tree = facts.tree(MONTH_SCENARIOS[1])
        if tree is None or isinstance(tree, NotSQL) or not hasattr(tree, "named_selects"):
            continue
        order_by = _key_text(facts.value("order_by", MONTH_REFILL)) if facts.known("order_by") else None
        try:
            keys = tuple(sorted(column_names(order_by))) if order_by else ()
        except NotSQL:
            keys = ()
        shapes.append(CohortShape(facts.model.name, _date_column(facts), tuple(tree.named_selects), keys))
    return shapes
