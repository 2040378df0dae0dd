"""Findings as text (`path:line:col: CODE message`), JSON, or GitHub Actions annotations."""

from __future__ import annotations

import json
from typing import Callable, Sequence

from refill.lint.finding import Finding
from refill.lint.runner import LintResult
from refill.render import wrap


def as_text(result: LintResult) -> str:
    return "".join(f"{finding.as_text()}\n" for finding in result.findings)


def as_json(result: LintResult) -> str:
    document = {
        "findings": [finding.as_dict() for finding in result.findings],
        "summary": {
            "errors": len(result.errors),
            "warnings": len(result.warnings),
            "info": len(result.findings) - len(result.errors) - len(result.warnings),
            "suppressed": result.suppressed,
            "models_checked": result.models_checked,
            "models_seen": result.models_seen,
        },
    }
    return json.dumps(document, indent=2) + "\n"


def as_github(result: LintResult) -> str:
    """Workflow commands: each finding becomes an annotation on the pull request's diff."""
    return "".join(_annotation(finding) + "\n" for finding in result.findings)


def _annotation(finding: Finding) -> str:
    properties = ",".join(
        f"{key}={_escape_property(str(value))}"
        for key, value in (("file", finding.path), ("line", finding.line), ("col", finding.col),
                           ("title", f"{finding.code} ({finding.model})"))
    )
    body = finding.message + (f". Fix: {finding.hint}" if finding.hint else "")
    level = "notice" if finding.severity == "info" else finding.severity
    return f"::{level} {properties}::{_escape_data(body)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def summary(result: LintResult, seconds: float) -> str:
    notes = len(result.findings) - len(result.errors) - len(result.warnings)
    text = (f"refill lint: {len(result.errors)} error(s), {len(result.warnings)} warning(s)"
            + (f", {notes} note(s)" if notes else "")
            + f"; {result.models_checked} of {result.models_seen} model(s) carry the refill tag; {seconds:.2f}s")
    return text + (f"; {result.suppressed} suppressed by noqa" if result.suppressed else "")


def skipped_paths(missing: Sequence[str]) -> str:
    """Paths given that do not exist (pre-commit passes a change's deleted files), listed
    within ``refill.render.LINE_LIMIT`` on continued lines."""
    return "\n".join(wrap(f"refill lint: skipped {len(missing)} path(s) that do not exist: ", list(missing)))


FORMATS: dict[str, Callable[[LintResult], str]] = {"text": as_text, "json": as_json, "github": as_github}
