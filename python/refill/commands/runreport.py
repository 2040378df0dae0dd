"""``refill report --run ID``: a run's journal and its audit before publish, after the fact.

Reads the journal only (no warehouse, no lock), so it works while another refill holds the
target and after the embedded engine's process has gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from refill import render
from refill.dbt.session import DbtSession
from refill.lineage.audit import MonthAudit
from refill.run.journal import Journal
from refill.run.target import find_run, journal_store


def journal_audit(journal: Journal) -> list[dict]:
    """Every month's audit the run recorded, in step order (refused months included)."""
    return [entry for step in journal.data.get("steps", {}).values()
            for entry in (step.get("details") or {}).get("audit", [])]


@dataclass(frozen=True)
class RunRecord:
    """A run as its journal recorded it (``refill.render.run_record_text`` prints it)."""

    run_id: str
    data: dict  # the journal: status, attempts, command, error, steps
    audit: list[dict]  # every month's audit, in step order (journal_audit)

    @classmethod
    def of(cls, journal: Journal) -> "RunRecord":
        return cls(journal.run_id, journal.data, journal_audit(journal))

    def audits(self) -> list[MonthAudit]:
        return [MonthAudit.from_dict(entry) for entry in self.audit]

    def as_dict(self) -> dict:
        return {**self.data, "audit": self.audit}


def run_report(run_id: str, *, project_dir: Path, profiles_dir: Path | None, target: str | None,
               state_root: Path | None = None, output_format: str = "text") -> int:
    session = DbtSession(project_dir=project_dir, profiles_dir=profiles_dir, target=target)
    record = RunRecord.of(find_run(journal_store(state_root, session), run_id, session.target_name))
    render.emit(render.run_record_json(record) if output_format == "json" else render.run_record_text(record))
    return 0
