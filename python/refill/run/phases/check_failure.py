"""How a failed check after Phase 1 ends a run: CheckFailed with each finding, and the
rollback command that the run prints as its next step.

Phase 1.5 (the canary) and Phase 4 (verify) both fail this way; it lives apart from both so
neither phase imports the other.
"""

from __future__ import annotations

import json
import shlex

from refill.errors import CheckFailed
from refill.run.phases.context import RunContext


def rollback_command(ctx: RunContext) -> str:
    session, plan = ctx.session, ctx.plan
    parts = ["python", "-m", "refill", "rollback", "--run", plan.run_id, "--project-dir", str(session.project_dir),
             "--profiles-dir", str(session.profiles_dir), "--target", plan.target]
    if ctx.state_root:
        parts += ["--state-dir", str(ctx.state_root)]
    if session.cli_vars:  # a project that needs --vars to parse needs them to roll back
        parts += ["--vars", json.dumps(dict(session.cli_vars), sort_keys=True, default=str)]
    return shlex.join(parts)


def fail_with_rollback(ctx: RunContext, what: str, problems: list[str], details: dict | None = None) -> None:
    """Raise CheckFailed (exit 3) naming every problem; the backups of the rewritten months are
    kept, and the run's next steps (``orchestrator.next_steps``) give the rollback command.
    ``details`` go to the step's journal entry and ``--report``."""
    kept = " Backups of the rewritten months are kept." if not ctx.plan.skip_cohort else ""
    failure = CheckFailed(f"{what} failed: {'; '.join(problems)}.{kept}", findings=tuple(problems))
    if details is not None:
        failure.details = details
    raise failure
