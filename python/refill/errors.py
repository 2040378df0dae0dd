"""Exception types that carry a user-facing message and the documented exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    STEP_FAILED = 1
    BAD_INPUT = 2
    CHECK_FAILED = 3
    LOCKED = 4
    CONTRACT = 5


class RefillError(Exception):
    """An error the CLI reports as one line on stderr, with ``exit_code``."""

    exit_code: ExitCode = ExitCode.STEP_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInput(RefillError):
    """Malformed flags, dates, names or project settings. Nothing was written."""

    exit_code = ExitCode.BAD_INPUT


class StepFailed(RefillError):
    """A dbt invocation or a SQL statement failed."""

    exit_code = ExitCode.STEP_FAILED


class CheckFailed(RefillError):
    """A canary or a verification found wrong data."""

    exit_code = ExitCode.CHECK_FAILED


class LockHeld(RefillError):
    """Another process owns the target (a running refill, or the embedded data directory)."""

    exit_code = ExitCode.LOCKED


class ContractViolation(RefillError):
    """A model breaks the refill contract; running it would silently do the wrong thing."""

    exit_code = ExitCode.CONTRACT
