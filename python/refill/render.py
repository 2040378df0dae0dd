"""How refill's own output reads at 1,000+ models: the plan summarised per phase, and every
line held to a width (statements abbreviated with counts).

Pure: takes the plan, its steps and each model's materialization and folder; prints nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

LINE_LIMIT = 200   # refill's own lines
ERROR_LIMIT = 300  # the one line an error is
FULL_LIST_UP_TO = 20  # a phase this small is listed model by model, as before
TOP_GROUPS = 6     # folders named in a summary line before "+N more"


@dataclass(frozen=True)
class ModelInfo:
    """What the plan summary groups a model by."""

    materialized: str
    folder: str  # the model file's folder, e.g. models/marts


def model_info(graph) -> dict[str, ModelInfo]:
    """``{model name: ModelInfo}`` of a ``ProjectGraph``'s models."""
    return {node.name: ModelInfo(node.materialized, os.path.dirname(node.original_file_path) or ".")
            for node in graph.nodes.values() if node.resource_type == "model"}


def clip(line: str, limit: int = LINE_LIMIT) -> str:
    """``line`` cut to ``limit`` characters, saying how much was left out."""
    if len(line) <= limit:
        return line
    for digits in range(1, 16):
        cut = limit - len(f" … (+{'9' * digits} chars)")
        left_out = len(line) - cut
        if len(str(left_out)) <= digits:
            return f"{line[:cut]} … (+{left_out} chars)"
    return line[:limit]


def wrap(prefix: str, items: Sequence[str], limit: int = LINE_LIMIT) -> list[str]:
    """``prefix`` then ``items`` comma-separated, continued on indented lines within ``limit``."""
    lines, current = [], prefix
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        if current != prefix and len(current) + 1 + len(piece) > limit:
            lines.append(current)
            current = " " * len(prefix) + piece
        else:
            current = f"{current} {piece}" if current != prefix else prefix + piece
    lines.append(current)
    return [clip(line, limit) for line in lines]


def abbreviate_statement(statement: str, limit: int = LINE_LIMIT) -> str:
    """A dbt statement within ``limit``: the models after ``--select``/``--exclude`` are cut
    to the first few with a count of the rest; anything still too long is clipped."""
    if len(statement) <= limit:
        return statement
    for keep in (3, 1):
        statement = _shorten_json_lists(statement, keep)
        if len(statement) <= limit:
            return statement
    tokens = statement.split(" ")
    lists: list[tuple[int, int]] = []  # [start, end) of each model list
    index = 0
    while index < len(tokens):
        if tokens[index] in ("--select", "--exclude", "-s"):
            start = index = index + 1
            while index < len(tokens) and not tokens[index].startswith("-"):
                index += 1
            lists.append((start, index))
        else:
            index += 1
    for keep in (5, 3, 1):
        out, last = [], 0
        for start, end in lists:
            out += tokens[last:min(end, start + keep)]
            if end - start > keep:
                out.append(f"…(+{end - start - keep} models)")
            last = end
        out += tokens[last:]
        text = " ".join(out)
        if len(text) <= limit:
            return text
    return clip(text, limit)


def _shorten_json_lists(statement: str, keep: int = 3) -> str:
    """The statement with each quoted JSON argument's long lists cut to ``keep`` items and a
    count (``["a", "b", "c", "…(+41 more)"]``): a run-operation's ``--args`` names every table."""
    def shorten(value):
        if isinstance(value, dict):
            return {k: shorten(v) for k, v in value.items()}
        if isinstance(value, list):
            head = [shorten(v) for v in value[:keep]]
            return head + ([f"…(+{len(value) - keep} more)"] if len(value) > keep else [])
        return value

    def replace(match: re.Match) -> str:
        try:
            value = json.loads(match.group(1))
        except ValueError:
            return match.group(0)
        return "'" + json.dumps(shorten(value), sort_keys=True, ensure_ascii=False) + "'"

    return re.sub(r"'(\{.*?\})'(?= |$)", replace, statement)


def one_line_error(message: str, limit: int = ERROR_LIMIT) -> str:
    """An error message as one line of at most ``limit`` characters."""
    return clip(" ".join(message.split()), limit)


def counts(values: Iterable[str], top: int = TOP_GROUPS) -> str:
    """``'view 300, table 120, … (+3 more)'``: the most frequent first."""
    ranked = Counter(values).most_common()
    text = ", ".join(f"{value} {n}" for value, n in ranked[:top])
    return text + (f", … (+{len(ranked) - top} more)" if len(ranked) > top else "")


def routine(mechanism: str) -> bool:
    """A mechanism that needs no one's attention: a view re-created, a table rebuilt, one
    lookback run (the strings ``refill.phases.lineage.decide_repairs`` writes)."""
    return (mechanism == "" or mechanism.endswith(": read live (re-created)")
            or mechanism.endswith(": rebuilt whole") or mechanism.startswith("lookback var, 1 run(s)"))


def phase_models(names: Sequence[str], info: Mapping[str, ModelInfo], mechanisms: Mapping[str, str],
                 *, verbose: bool) -> list[str]:
    """One phase's models: every one (run order) when the phase is small or ``verbose``;
    else a count by materialization and by folder, and the models that need attention."""
    if verbose or len(names) <= FULL_LIST_UP_TO:
        width = max((len(n) for n in names), default=0)
        return [clip(f"  {name.ljust(width)}  {mechanisms.get(name, '')}".rstrip()) for name in names]
    lines = [clip(f"  by materialization: {counts(info[n].materialized if n in info else '?' for n in names)}"),
             clip(f"  by folder: {counts(info[n].folder if n in info else '?' for n in names)}")]
    attention = [n for n in names if not routine(mechanisms.get(n, ""))]
    if attention:
        lines.append(f"  need attention ({len(attention)}):")
        lines += [clip(f"    {name}  {mechanisms[name]}") for name in attention[:FULL_LIST_UP_TO]]
        if len(attention) > FULL_LIST_UP_TO:
            lines.append(f"    … (+{len(attention) - FULL_LIST_UP_TO} more: --verbose or --report)")
    else:
        lines.append("  need attention: none (views re-created, tables rebuilt, one lookback run each)")
    lines.append("  (every model and how: --verbose, or the --report JSON)")
    return lines


def statements(steps, *, verbose: bool, per_step: int = 3) -> list[str]:
    """The statements of every step, each line abbreviated; a step's beyond ``per_step`` are
    counted unless ``verbose``."""
    lines = []
    for step in steps:
        shown = step.statements if verbose else step.statements[:per_step]
        lines += [abbreviate_statement(f"  [{step.key}] {statement}") for statement in shown]
        if len(step.statements) > len(shown):
            lines.append(f"  [{step.key}] … (+{len(step.statements) - len(shown)} more statements: --verbose)")
    return lines


def duration(seconds: float) -> str:
    """``'8s'``, ``'2m05s'``, ``'1h02m'``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def remaining_seconds(remaining: Sequence[str], done: Mapping[str, float], last_run: Mapping[str, float]
                      ) -> float | None:
    """What the ``remaining`` model executions should take: each model's duration in the last
    run (``run_results.json``) when known, else the mean of this run's (``done``), else the
    mean of the last run's; None when nothing is known yet."""
    if not remaining:
        return 0.0
    fallback = (sum(done.values()) / len(done) if done
                else sum(last_run.values()) / len(last_run) if last_run else None)
    total = 0.0
    for name in remaining:
        known = last_run.get(name, fallback)
        if known is None:
            return None
        total += known
    return total


def progress_line(title: str, done: int, total: int, elapsed: float, eta: float | None, unit: str = "models"
                  ) -> str:
    """``'Phase 2: lineage re-pull  312/470 models  elapsed 1m02s  ETA 31s'``."""
    eta_text = "ETA …" if eta is None else f"ETA {duration(eta)}"
    return clip(f"{title}  {done}/{total} {unit}  elapsed {duration(elapsed)}  {eta_text}")
