"""Exception types that carry a user-facing message and the documented exit code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    STEP_FAILED = 1
    BAD_INPUT = 2
    CHECK_FAILED = 3
    LOCKED = 4
    CONTRACT = 5


class RefillError(Exception):
    """An error the CLI reports on stderr with ``exit_code``: one line (``message``, clipped),
    then ``findings`` one per line when that line could not hold them all, the full log, and
    ``next_steps``, each a whole command (a clipped command cannot be pasted)."""

    exit_code: ExitCode = ExitCode.STEP_FAILED
    log_path = None  # set by a run that stopped on it: where the full message and dbt's lines are

    def __init__(self, message: str, *, findings: tuple[str, ...] = (), next_steps: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.findings = tuple(findings)  # what the message names, one each
        self.next_steps = tuple(next_steps)  # the commands to type next


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


class PreflightRefused(RefillError):
    """Preflight found shapes a refill cannot handle exactly; nothing was written.

    ``problems`` holds every problem found in the one preflight pass, as data (for
    ``--report`` JSON and the terminal table); the exit code is the most severe class's.
    """

    def __init__(self, problems: "list[PreflightProblem]") -> None:
        self.problems = list(problems)
        self.exit_code = max((p.exit_code for p in self.problems), default=ExitCode.CONTRACT)
        first = self.problems[0].one_line() if self.problems else "preflight refused the plan"
        more = f" (+{len(self.problems) - 1} more problem(s), listed above)" if len(self.problems) > 1 else ""
        super().__init__(first + more)

    @property
    def details(self) -> dict:
        """The problems as data, for the refusing step's journal entry and ``--report``."""
        return {"problems": [p.as_dict() for p in self.problems]}


@dataclass(frozen=True)
class PreflightProblem:
    """One reason a plan cannot run as asked.

    ``kind`` is the class of problem: ``graph``, ``contract``, ``relation``, ``schema-drift``,
    ``partitioning``, ``price-coverage``, ``lineage``; ``model`` the dbt model it is about (None for
    the plan as a whole); ``message`` says what and what to do; ``exit_code`` the documented code of
    the class (5 a shape refill refuses, 3 data that is not ready, 2 bad input).
    """

    kind: str
    model: str | None
    message: str
    exit_code: ExitCode = ExitCode.CONTRACT

    def one_line(self) -> str:
        return f"{self.kind}: {self.model + ': ' if self.model else ''}{self.message}"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "model": self.model, "message": self.message, "exit_code": int(self.exit_code)}
