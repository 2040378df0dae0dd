"""What a flow is given and what it hands back (shared by the flows and the harness)."""

from __future__ import annotations

import datetime as dt
import json
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from refill.run.plan import Window, make_window

RESULT_FILE = "result.json"
QUERY_LOG_FILE = "queries.jsonl"
TRANSCRIPT_FILE = "transcript.log"


@dataclass(frozen=True)
class FlowSpec:
    """One recovery to run: which project and warehouse, which incident, where to write."""

    flow: str  # "baseline", "refill" or "rebuild"
    project_dir: str
    profiles_dir: str
    target: str
    schema: str
    gap: str
    today: str
    run_dir: str
    prices_model: str = "int_execution_token_prices_daily"
    tag: str = "refill_append"

    @property
    def window(self) -> Window:
        return make_window(from_date=dt.date.fromisoformat(self.gap), today=dt.date.fromisoformat(self.today))

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "FlowSpec":
        return cls(**json.loads(Path(path).read_text()))


@dataclass
class PhaseSpan:
    phase: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class FlowOutcome:
    """A flow's own account of its run; the harness adds what the logs and the diff show."""

    flow: str
    started: float
    ended: float
    exit_code: int = 0
    phases: list[PhaseSpan] = field(default_factory=list)
    peak_rss_kb: int = 0
    dbt_invocations: int = 0
    # known exactly in-process (refill's report: a count, or one entry per parse with its
    # reason and vars); the logs count them for subprocesses
    parses: int | list[dict] | None = None
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, default=str))

    @classmethod
    def load(cls, path: Path) -> "FlowOutcome":
        raw = json.loads(Path(path).read_text())
        raw["phases"] = [PhaseSpan(**p) for p in raw["phases"]]
        return cls(**raw)


class PhaseClock:
    """Marks where each phase of a flow starts and ends (wall clock, comparable across processes)."""

    def __init__(self) -> None:
        self.spans: list[PhaseSpan] = []

    def start(self, phase: str) -> None:
        now = time.time()
        if self.spans and self.spans[-1].phase == phase:
            return
        if self.spans and self.spans[-1].end == 0:
            self.spans[-1].end = now
        self.spans.append(PhaseSpan(phase, now, 0))

    def stop(self) -> None:
        if self.spans and self.spans[-1].end == 0:
            self.spans[-1].end = time.time()


def close_dbt_flow(outcome: FlowOutcome, clock: PhaseClock, calls: list) -> None:
    """End a flow made of dbt CLI processes: its phases, its dbt calls and its peak memory
    (every dbt process of the flow is a child of this one: the largest is the peak)."""
    clock.stop()
    outcome.ended = time.time()
    outcome.phases = clock.spans
    outcome.dbt_invocations = len(calls)
    outcome.details["calls"] = calls
    outcome.peak_rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def flow_main(run: Callable[[FlowSpec], FlowOutcome], argv: Sequence[str]) -> int:
    """A flow's process: run the spec named by ``argv[0]``, save the outcome beside it."""
    spec = FlowSpec.load(Path(argv[0]))
    outcome = run(spec)
    outcome.save(spec.run_path / RESULT_FILE)
    return outcome.exit_code
