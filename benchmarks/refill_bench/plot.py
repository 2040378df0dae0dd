"""wall_vs_models.png: wall time of both flows against project size (and gap length)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from refill_bench.summary import summarize


def plot(results: dict, path: Path) -> bool:
    """Wall time vs models (and vs months) for both flows; False when no series was run
    or matplotlib (the ``bench`` extra) is missing: the tables and the JSON still get written."""
    summaries = [summarize(r) for r in results["scenarios"]]
    models = sorted((s for s in summaries if "models" in s.scenario.get("series", []) and s.baseline and s.refill),
                    key=lambda s: s.scenario["project"]["models"])
    months = sorted((s for s in summaries if "months" in s.scenario.get("series", []) and s.baseline and s.refill),
                    key=lambda s: s.scenario["months"])
    history = sorted((s for s in summaries if "history" in s.scenario.get("series", []) and s.rebuild and s.refill),
                     key=lambda s: s.scenario["data"]["history_start"], reverse=True)
    models, months = (p if len(p) > 1 else [] for p in (models, months))
    if not models and not months and not history:
        return False
    try:
        import matplotlib
    except ImportError:
        print(f"not plotting {path.name}: matplotlib is missing (pip install -e '.[bench]')", file=sys.stderr)
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def history_months(s) -> int:
        start, today = (dt.date.fromisoformat(v) for v in (s.scenario["data"]["history_start"], s.scenario["today"]))
        return (today.year - start.year) * 12 + today.month - start.month

    panels = [(p, x, label) for p, x, label in ((models, lambda s: s.scenario["project"]["models"], "models in the project"),
                                                (months, lambda s: s.scenario["months"], "months in the gap"),
                                                (history, history_months, "months of history (2-month gap)")) if p]
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for axis, (points, x, label) in zip(axes[0], panels):
        xs = [x(s) for s in points]
        if all(s.baseline for s in points):
            axis.plot(xs, [s.baseline["wall_seconds"] for s in points], "o-", label="seed's flow (dbt CLI per command)")
        if all(s.rebuild for s in points):
            axis.plot(xs, [s.rebuild["wall_seconds"] for s in points], "^-", label="full rebuild of <prices>+")
        axis.plot(xs, [s.refill["wall_seconds"] for s in points], "s-", label="refill run (one process)")
        axis.set_xlabel(label)
        axis.set_ylabel("wall time (s)")
        axis.set_xticks(xs)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle("Recovery wall time on the embedded engine (smaller data)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True
