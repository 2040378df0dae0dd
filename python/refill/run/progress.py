"""The terminal while a refill runs: one progress line per phase, dbt's own lines in a log file.

On a terminal (and without ``--dbt-output``), dbt's stdout is silenced and every line dbt
would have printed goes to the run's log file instead (its path is printed once); refill
redraws one line per phase: models done of N, elapsed, and an ETA from the durations so far
or the last run's ``run_results.json``. Otherwise (a pipe, CI, ``--dbt-output``) dbt prints
as it always did and nothing is redrawn.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence, TextIO

from refill import render

_LOGGED_LEVELS = ("info", "warn", "error")

# the Progress drawing on this terminal, if any: say() prints under it
_live: "Progress | None" = None


def say(text: str = "", *, file: TextIO | None = None) -> None:
    """Print refill's own lines, each held to ``render.LINE_LIMIT`` (a longer one is clipped
    and says by how much), around the progress line when one is drawn."""
    live = _live if file is None else None
    if live is not None:
        live.clear()
    stream = file or sys.stdout
    for line in text.split("\n"):
        render.emit(render.clip(line), stream=stream)
    if live is not None:
        live.draw()


def last_run_durations(target_path: Path) -> dict[str, float]:
    """``{model name: seconds}`` from ``run_results.json`` in ``target_path`` (empty when absent)."""
    try:
        data = json.loads((Path(target_path) / "run_results.json").read_text())
    except (OSError, ValueError):
        return {}
    return {str(r.get("unique_id", "")).rsplit(".", 1)[-1]: float(r.get("execution_time") or 0.0)
            for r in data.get("results", []) if str(r.get("unique_id", "")).startswith("model.")}


class Progress:
    """Listens to dbt's events (a ``DbtSession`` listener) and keeps the terminal's progress
    line; ``live`` False leaves the terminal to dbt and only writes nothing."""

    def __init__(self, log_path: Path | None, *, live: bool, last_run: Mapping[str, float] | None = None,
                 stream: TextIO | None = None) -> None:
        self.log_path = Path(log_path) if log_path else None
        self.live = live
        self.stream = stream or sys.stdout
        self.last_run = dict(last_run or {})
        self._log: TextIO | None = None
        self._title = ""
        self._expected: list[str] = []
        self._done: dict[str, float] = {}
        self._count = 0
        self._finished: list[str] = []
        self._steps_total = 0
        self._unit = "models"
        self._started = time.monotonic()
        self._drawn = False

    # -- dbt's events ----------------------------------------------------------------------

    def __call__(self, event) -> None:
        if self.live and self.log_path is not None and event.info.level in _LOGGED_LEVELS and event.info.msg:
            if self._log is None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = self.log_path.open("a", encoding="utf-8")
            self._log.write(f"{time.strftime('%H:%M:%S')}  {event.info.msg}\n")
            self._log.flush()
        if event.info.name == "LogModelResult" and self._unit == "models":
            name = event.data.node_info.node_name
            self._done[name] = float(event.data.execution_time)
            self._finished.append(name)
            self._count += 1
            self.draw()

    def write_log(self, text: str) -> None:
        """A line of refill's own in the log (the full text of an error)."""
        if self.log_path is None:
            return
        if self._log is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a", encoding="utf-8")
        self._log.write(f"{time.strftime('%H:%M:%S')}  refill: {text}\n")
        self._log.flush()

    # -- phases and steps ------------------------------------------------------------------

    def start_phase(self, title: str, models: Sequence[str], steps: int) -> None:
        self.clear()
        self._title, self._started, self._done, self._count = title, time.monotonic(), {}, 0
        self._finished = []
        self._expected = list(models)
        self._unit = "models" if models else "steps"
        self._steps_total = steps
        self.draw()

    def step_done(self) -> None:
        if self._unit == "steps":
            self._count += 1
        self.draw()

    def end_phase(self) -> None:
        if self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False

    def line(self) -> str:
        total = len(self._expected) if self._unit == "models" else self._steps_total
        done = min(self._count, total)
        if self._unit == "models":
            # a cohort model runs once per month: strike one occurrence per result
            left = Counter(self._expected) - Counter(self._finished)
            eta = render.remaining_seconds(list(left.elements()), self._done, self.last_run)
        else:
            elapsed = time.monotonic() - self._started
            eta = elapsed / done * (total - done) if done else None
        return render.progress_line(self._title, done, total, time.monotonic() - self._started, eta, self._unit)

    def draw(self) -> None:
        if not self.live or not self._title:
            return
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Rub out the progress line before another line is printed (``render.say`` calls it)."""
        if self.live and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        global _live
        self.end_phase()
        if _live is self:
            _live = None
        if self._log is not None:
            self._log.close()
            self._log = None
