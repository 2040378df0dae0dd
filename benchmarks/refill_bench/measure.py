"""Reads what a flow left behind: the engine statement log and dbt's JSON file logs.

Both flows run with ``REFILL_QUERY_LOG`` (every statement on the embedded engine, with its
duration) and ``DBT_LOG_FORMAT_FILE=json`` (dbt's own structured events), so both are
counted by the same code, whichever process ran them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

# Environment both flows run under; the log locations are added per flow.
DBT_ENV = {
    "DBT_LOG_FORMAT_FILE": "json",
    "DBT_LOG_FILE_MAX_BYTES": "0",  # never roll over: every event of the flow stays countable
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


@dataclass(frozen=True)
class Statement:
    pid: int
    start: float
    seconds: float
    kind: str
    ok: bool
    sql: str = ""
    thread: int = 0

    @property
    def end(self) -> float:
        return self.start + self.seconds


# The statements of the package's ``audit_month`` macro (macros/checks/audit_month.sql), by the
# aliases only they use, and the audit table it writes and refill reads back.
AUDIT_MARKERS = ("__refill_side", "__refill_matched")
AUDIT_FIRST = "__refill_rows"  # the macro's first query (after its column lookup)
AUDIT_TABLE = "refill_audit"


def is_audit(statement: Statement) -> bool:
    return any(marker in statement.sql for marker in AUDIT_MARKERS) or AUDIT_TABLE in statement.sql


def audit_spans(statements: list[Statement]) -> list[tuple[float, float]]:
    """Wall spans of the audit before publish: per thread, each run of consecutive audit
    statements to the end of its last statement. A run that opens with the macro's first query
    starts at the end of the statement before it (the macro's column lookup, so its Jinja
    rendering counts); any other run (refill reading the verdicts back, on its own thread,
    whose previous statement may be minutes earlier) starts with its first statement.

    ``refill_swap`` calls ``audit_month`` between writing the staging month and swapping it,
    on the model's dbt thread; the orchestrator's read-back of the verdicts is a run of its own."""
    spans: list[tuple[float, float]] = []
    by_thread: dict[tuple[int, int], list[Statement]] = defaultdict(list)
    for s in statements:
        by_thread[(s.pid, s.thread)].append(s)
    for stream in by_thread.values():
        stream.sort(key=lambda s: s.start)
        start = None
        for i, s in enumerate(stream):
            if is_audit(s):
                if start is None:
                    follows = i and AUDIT_FIRST in s.sql and stream[i - 1].end <= s.start
                    start = stream[i - 1].end if follows else s.start
                end = s.end
            elif start is not None:
                spans.append((start, end))
                start = None
        if start is not None:
            spans.append((start, end))
    return spans


@dataclass
class QueryLog:
    statements: list[Statement] = field(default_factory=list)
    engine_opens: list[float] = field(default_factory=list)  # seconds to open the engine, per client
    # per client: whether its open started the engine (None: a log written before refill said so)
    engine_cold: list[bool | None] = field(default_factory=list)
    counters: dict[int, list[dict[str, int]]] = field(default_factory=lambda: defaultdict(list))

    def kinds(self) -> Counter:
        return Counter(s.kind for s in self.statements)

    def query_seconds(self, window: tuple[float, float] | None = None) -> float:
        """Σ of statement durations (parallel statements both count)."""
        return sum(s.seconds for s in self._within(window))

    def busy_seconds(self, window: tuple[float, float] | None = None) -> float:
        """Wall time during which at least one statement was running."""
        return union_length(((s.start, s.end) for s in self._within(window)), window)

    def engine_delta(self, name: str) -> int:
        """A ``system.events`` counter's growth, summed over processes (each counts from its start)."""
        total = 0
        for snapshots in self.counters.values():
            values = [snap.get(name, 0) for snap in snapshots]
            if values:
                total += max(values) - values[0]
        return total

    def _within(self, window: tuple[float, float] | None) -> Iterator[Statement]:
        if window is None:
            return iter(self.statements)
        low, high = window
        return (s for s in self.statements if s.end > low and s.start < high)


def union_length(intervals: Iterable[tuple[float, float]], window: tuple[float, float] | None = None) -> float:
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if window:
            start, end = max(start, window[0]), min(end, window[1])
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


def read_query_log(path: Path) -> QueryLog:
    log = QueryLog()
    if not Path(path).exists():
        return log
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        event = record["event"]
        if event == "statement":
            log.statements.append(Statement(record["pid"], record["start"], record["seconds"],
                                            record["kind"], record["ok"], record.get("sql", ""),
                                            record.get("thread", 0)))
        elif event in ("open", "close"):
            if event == "open":
                log.engine_opens.append(record["seconds"])
                log.engine_cold.append(record.get("cold"))
            if record.get("counters"):
                log.counters[record["pid"]].append(record["counters"])
    return log


@dataclass
class DbtLog:
    invocations: int = 0
    parses: int = 0
    full_parses: int = 0
    executions: Counter = field(default_factory=Counter)  # unique_id -> successful node runs
    errors: Counter = field(default_factory=Counter)

    def executions_of(self, names: Iterable[str]) -> int:
        wanted = set(names)
        return sum(n for uid, n in self.executions.items() if uid.rsplit(".", 1)[-1] in wanted)


def read_dbt_logs(log_dir: Path) -> DbtLog:
    """dbt's JSON file log(s) under ``log_dir``: invocations, manifest loads, node runs."""
    log = DbtLog()
    for path in sorted(Path(log_dir).rglob("dbt.log*")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a non-JSON line (another writer's format) is not ours to count
            _count(log, event)
    return log


def _count(log: DbtLog, event: dict) -> None:
    name = event.get("info", {}).get("name")
    if name == "MainReportVersion":
        log.invocations += 1
    elif name == "StateCheckVarsHash":  # fired once per manifest load, partial or full
        log.parses += 1
    elif name == "UnableToPartialParse":
        log.full_parses += 1
    elif name == "NodeFinished":
        info = event.get("data", {}).get("node_info", {})
        if info.get("resource_type") != "model":
            return
        target = log.executions if info.get("node_status") == "success" else log.errors
        target[info.get("unique_id", "?")] += 1
