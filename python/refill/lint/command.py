"""`refill lint`: picks the mode from the arguments, runs the rules, prints, returns the exit code."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence, TextIO

from refill import render
from refill.errors import BadInput, ExitCode
from refill.lint.files import project_models, select_files
from refill.lint.manifest import default_project_dir, load_manifest, manifest_models
from refill.lint.model import ModelSource
from refill.lint.report import FORMATS, skipped_paths, summary
from refill.lint.runner import default_jobs, lint_models


def run_lint(
    *,
    paths: Sequence[str] = (),
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    target: str | None = None,
    manifest: Path | None = None,
    parse: bool = False,
    cli_vars: dict | None = None,
    select: Sequence[str] | None = None,
    tag: str | None = None,
    output_format: str = "text",
    jobs: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    started = time.monotonic()
    models = _models(paths, project_dir, profiles_dir, target, manifest, parse, err, cli_vars or {})
    files_mode = manifest is None and not parse  # dbt in this process: no forking
    workers = (jobs or default_jobs()) if files_mode else 1
    result = lint_models(models, tag=tag, select=set(select) if select else None, jobs=workers)
    out.write(FORMATS[output_format](result))
    render.emit(summary(result, time.monotonic() - started), stream=err)
    return int(ExitCode.CONTRACT if any(f.fails for f in result.findings) else ExitCode.OK)


def _models(paths, project_dir, profiles_dir, target, manifest, parse, err, cli_vars) -> list[ModelSource]:
    if cli_vars and not parse:
        raise BadInput("--vars applies to --parse (a dbt parse of the project); files mode and --manifest "
                       "read the vars of dbt_project.yml")
    if manifest is not None and parse:
        raise BadInput("--manifest reads a manifest and --parse makes one: pass one of them")
    if paths and (manifest is not None or parse):
        raise BadInput("model paths select files mode; drop them, or drop --manifest/--parse")
    if manifest is not None:
        return manifest_models(load_manifest(manifest), Path(project_dir or default_project_dir(manifest)))
    if parse:
        from refill.dbt.session import DbtSession

        session = DbtSession(Path(project_dir or Path.cwd()), profiles_dir=profiles_dir, target=target, quiet=True,
                             cli_vars=cli_vars)
        return manifest_models(session.parse(reason="lint --parse"), session.project_dir)
    if not paths:
        return project_models(Path(project_dir or Path.cwd())).models
    selection = select_files(paths)
    if selection.missing and not selection.models and not selection.not_models:
        # Nothing given exists: a mistyped folder must not pass as "0 of 0 models".
        raise BadInput(f"no such file or directory: {', '.join(selection.missing)}")
    if selection.missing:
        # pre-commit passes the files of a change, deleted ones included: nothing to lint there.
        render.emit(skipped_paths(selection.missing), stream=err)
    return selection.models
