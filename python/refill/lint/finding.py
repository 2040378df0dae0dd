"""A lint finding: one broken clause of the refill contract, located in a model file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
ERROR: Severity = "error"
WARNING: Severity = "warning"
# A fact about the model that the plan must act on, not a violation: printed, never fails.
INFO: Severity = "info"


@dataclass(frozen=True)
class Finding:
    """``path:line:col: CODE message``; ``severity`` "error" makes the orchestrator refuse, "info" only informs."""

    code: str
    message: str
    path: str
    line: int
    col: int
    model: str
    severity: Severity = ERROR
    hint: str = ""

    def as_text(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def fails(self) -> bool:
        """Errors and warnings fail the lint (exit 5); info findings do not."""
        return self.severity != INFO
