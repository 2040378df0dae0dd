"""The run journal: which steps of a refill are done, written atomically after each step.

One file per run id under the target's state directory. Re-running the same command
(same project, target and plan → same run id) skips the done steps. Every step is also
idempotent on its own, so a lost journal costs time, never correctness.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNNING, FAILED, DONE, ROLLED_BACK = "running", "failed", "done", "rolled_back"
# preflight refused the run before the cohort was touched: nothing to resume or roll back
REFUSED = "refused"
PENDING = (RUNNING, FAILED)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Journal:
    path: Path
    data: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.data["run_id"]

    @property
    def status(self) -> str:
        return self.data["status"]

    def is_done(self, step_key: str) -> bool:
        return self.data["steps"].get(step_key, {}).get("status") == "ok"

    def record_step(self, step_key: str, status: str, seconds: float, details: dict | None = None) -> None:
        self.data["steps"][step_key] = {"status": status, "seconds": round(seconds, 3), "at": _now(),
                                        "details": details or {}}
        self.save()

    def finish(self, status: str, error: str | None = None) -> None:
        self.data["status"], self.data["error"], self.data["updated"] = status, error, _now()
        self.save()

    def save(self) -> None:
        self.data["updated"] = _now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump(self.data, handle, indent=2, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


class JournalStore:
    """The journals of one target (``<state dir>/runs``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, run_id: str) -> Path:
        return self.directory / "runs" / f"{run_id}.json"

    def load(self, run_id: str) -> Journal | None:
        path = self.path(run_id)
        if not path.exists():
            return None
        return Journal(path, json.loads(path.read_text()))

    def start(self, run_id: str, plan: dict[str, Any], command: str) -> Journal:
        """A fresh journal, or the pending one of the same run (which is then resumed)."""
        existing = self.load(run_id)
        if existing is not None and existing.status in PENDING:
            existing.data["status"] = RUNNING
            existing.data["attempts"] = existing.data.get("attempts", 1) + 1
            existing.save()
            return existing
        journal = Journal(self.path(run_id), {
            "run_id": run_id, "plan": plan, "command": command, "status": RUNNING,
            "started": _now(), "updated": _now(), "attempts": 1, "error": None, "steps": {},
        })
        journal.save()
        return journal

    def runs(self) -> list[Journal]:
        """Every journal of the target on this machine, by run id."""
        paths = sorted((self.directory / "runs").glob("*.json")) if (self.directory / "runs").exists() else []
        return [Journal(path, json.loads(path.read_text())) for path in paths]

    def pending(self) -> list[Journal]:
        return [j for j in self.runs() if j.status in PENDING]
