"""Medians over repeats and the two flows of a scenario side by side (on results.json data)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

PHASE_ORDER = ("startup", "plan", "preflight", "phase1", "phase1.5", "phase2", "phase3", "phase4", "finish")
PHASE_LABELS = {
    "startup": "start-up (interpreter, imports)",
    "plan": "parse + plan",
    "preflight": "preflight",
    "phase1": "Phase 1 cohort rewrite",
    "phase1.5": "Phase 1.5 canary",
    "phase2": "Phase 2 lineage re-pull",
    "phase3": "Phase 3 downstream rebuild",
    "phase4": "Phase 4 verify",
    "finish": "finish",
    "rebuild": "full rebuild of the lineage",
}


def median_run(runs: list[dict]) -> dict[str, Any]:
    """Medians of every number over the repeats; maps of numbers get per-key medians."""
    if not runs:
        return {}
    merged: dict[str, Any] = {}
    for key, value in runs[0].items():
        values = [r[key] for r in runs]
        if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
            merged[key] = value
        elif isinstance(value, dict):
            keys = sorted({k for v in values for k in v})
            numeric = all(isinstance(v.get(k), (int, float)) for v in values for k in keys if k in v)
            merged[key] = ({k: statistics.median([v[k] for v in values if v.get(k) is not None] or [0])
                            for k in keys} if numeric else value)
        else:
            merged[key] = statistics.median(values)
    merged["repeats"] = len(runs)
    merged["wall_all"] = sorted(r["wall_seconds"] for r in runs)
    return merged


@dataclass
class Summary:
    scenario: dict
    incident: dict
    baseline: dict
    refill: dict
    rebuild: dict = field(default_factory=dict)
    plan_speed: dict | None = None

    def ratio(self, key: str) -> float | None:
        b, r = self.baseline.get(key), self.refill.get(key)
        return r / b if b else None


def server_wall(run: dict) -> float:
    """Wall minus the embedded engine's start-ups: every dbt process starts chDB and loads the
    warehouse's tables, which a process connecting to a ClickHouse server does not do."""
    return run["wall_seconds"] - run["engine_start_seconds"]


def summarize(result: dict) -> Summary:
    runs = result["runs"]
    return Summary(result["scenario"], result["incident"],
                   median_run([r for r in runs if r["flow"] == "baseline"]),
                   median_run([r for r in runs if r["flow"] == "refill"]),
                   median_run([r for r in runs if r["flow"] == "rebuild"]),
                   result.get("plan_speed"))


def overhead_share(run: dict) -> float:
    """Orchestration overhead (wall not spent with a statement on the engine) over wall."""
    return run["overhead_seconds"] / run["wall_seconds"]


def audit_share(run: dict) -> float:
    return run.get("audit_seconds", 0.0) / run["wall_seconds"]


def plan_vs_ls(speed: dict | None) -> float | None:
    """Warm ``refill plan`` wall over warm ``dbt ls`` wall (the second of each pair)."""
    if not speed or not speed.get("plan") or not speed.get("ls") or len(speed["plan"]) < 2:
        return None
    return speed["plan"][-1] / speed["ls"][-1]
