"""``refill report --run ID``: a run's journal and its audit before publish, after the fact.

Reads the journal only (no warehouse, no lock), so it works while another refill holds the
target and after the embedded engine's process has gone.
"""

from __future__ import annotations

import json
from pathlib import Path

from refill.audit import MonthAudit
from refill.journal import Journal
from refill.target import find_run, journal_store
from refill.session import DbtSession



def journal_audit(journal: Journal) -> list[dict]:
    """Every month's audit the run recorded, in step order (refused months included)."""
    return [entry for step in journal.data.get("steps", {}).values()
            for entry in (step.get("details") or {}).get("audit", [])]


def render_text(journal: Journal) -> str:
    data = journal.data
    lines = [f"refill run {journal.run_id}: {data.get('status')}  (attempts {data.get('attempts', 1)}, "
             f"started {data.get('started')}, updated {data.get('updated')})"]
    if data.get("error"):
        lines.append(f"error: {data['error']}")
    if data.get("command"):
        lines.append(f"command: {data['command']}")
    steps = data.get("steps", {})
    width = max([len(key) for key in steps] + [4])
    lines += ["", f"{'step'.ljust(width)}  {'status':<7}  {'seconds':>8}  at"]
    lines += [f"{key.ljust(width)}  {step.get('status', ''):<7}  {step.get('seconds', 0):>8.2f}  {step.get('at', '')}"
              for key, step in steps.items()]
    audits = [MonthAudit.from_dict(entry) for entry in journal_audit(journal)]
    lines += ["", "audit before publish (one line per cohort model and month):"]
    lines += [f"  {a.summary_line()}" for a in audits] or ["  (no cohort month was audited)"]
    for a in audits:
        for reason in a.unexplained:
            lines.append(f"  unexplained  {a.model} {a.month}: {reason}")
        for column in a.detail.get("columns", []):
            if column.get("changed"):
                lines.append(f"    {a.model} {a.month} {column['name']}: {column['changed']} row(s) changed"
                             f" {column.get('first_day')}..{column.get('last_day')}, sum {column.get('sum_live')} → "
                             f"{column.get('sum_staged')}" + ("  (price-derived)" if column.get("price_derived") else ""))
    return "\n".join(lines)


def run_report(run_id: str, *, project_dir: Path, profiles_dir: Path | None, target: str | None,
               state_root: Path | None = None, output_format: str = "text") -> int:
    session = DbtSession(project_dir=project_dir, profiles_dir=profiles_dir, target=target)
    journal = find_run(journal_store(state_root, session), run_id, session.target_name)
    if output_format == "json":
        print(json.dumps({**journal.data, "audit": journal_audit(journal)}, indent=2, default=str))
    else:
        print(render_text(journal))
    return 0
