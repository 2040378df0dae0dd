"""Every line refill prints: the renderers (a command's result in, text or JSON out) and the
one writer, ``emit``.

The domain returns results (dataclasses); a command's entry point passes them to a renderer
here and writes what it returns with ``emit``; a warning in the middle of a run goes through
``warn``. Each line is held to ``LINE_LIMIT`` (clipped, saying by how much; a warning wraps,
nothing cut), except a command printed for the user to paste, which is printed whole. The
plan is summarised per phase at 1,000+ models (statements abbreviated with counts).

Pure but for ``emit``/``warn``: imports nothing of refill, so any layer may call it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, TextIO

if TYPE_CHECKING:  # the results rendered here; render imports nothing of refill at run time
    from refill.commands.adopt import InitResult
    from refill.commands.cleanup import CleanupResult
    from refill.commands.detect import Detection
    from refill.commands.operations import CanaryRun
    from refill.commands.runreport import RunRecord
    from refill.errors import PreflightProblem, PreflightRefused, RefillError
    from refill.lab.diff import ModelDiff
    from refill.lab.simulator import DamageRow
    from refill.run.orchestrator import RunReport

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
    lookback run (the strings ``refill.run.phases.lineage.decide_repairs`` writes)."""
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


# -- the one writer ----------------------------------------------------------------------

WARNING_PREFIX = "refill: warning: "
ERROR_PREFIX = "refill: error: "
FINDING_PREFIX = "refill:   - "
FINDINGS_SHOWN = 20  # findings listed on stderr under a clipped error; the log has them all
INTERRUPTED = "refill: interrupted"


def emit(text: str = "", *, stream: TextIO | None = None) -> None:
    """Write ``text`` (lines a renderer made) and a newline to ``stream`` (default: stdout),
    flushed, so refill's lines keep their order with dbt's."""
    print(text, file=stream or sys.stdout, flush=True)


def warning(message: str, limit: int = LINE_LIMIT) -> str:
    """``refill: warning: message``, wrapped within ``limit`` under the message (a warning
    names what to do at its end: nothing is cut)."""
    lines = textwrap.wrap(" ".join(message.split()), limit, initial_indent=WARNING_PREFIX,
                          subsequent_indent=" " * len(WARNING_PREFIX), break_on_hyphens=False,
                          break_long_words=False) or [WARNING_PREFIX.rstrip()]
    return "\n".join(clip(line, limit) for line in lines)


def warn(message: str) -> None:
    """A warning on stderr, in the middle of a run or of a command (``warning``'s lines)."""
    emit(warning(message), stream=sys.stderr)


def banner(text: str) -> str:
    """A section's title, after a blank line: ``=== text ===``."""
    return clip(f"\n=== {text} ===")


def step_ok(key: str, seconds: float, phase_seconds: float) -> str:
    """A step of a run done: its time and its phase's so far."""
    return clip(f"[{key}] OK in {seconds:.2f}s  (phase elapsed {phase_seconds:.1f}s)")


def step_skipped(key: str, run_id: str) -> str:
    return clip(f"[{key}] done by an earlier attempt of run {run_id}: skipped")


def run_summary(report: "RunReport") -> str:
    """The end of ``refill run``: each cohort month's audit before publish, then ``step_table``."""
    audits = report.month_audits()
    lines = ["audit before publish (one line per cohort model and month):"] if audits else []
    lines += [clip(f"  {audit.summary_line()}") for audit in audits]
    return "\n".join(lines + [step_table(report)])


def step_table(report: "RunReport") -> str:
    """Each step's status and seconds, then the run's total and its dbt parses, compiles and
    invocations."""
    width = max([len(s.key) for s in report.steps] + [4])
    lines = [f"{'step'.ljust(width)}  {'status':<7}  {'seconds':>8}"]
    lines += [f"{s.key.ljust(width)}  {s.status:<7}  {s.seconds:>8.2f}" for s in report.steps]
    lines.append(f"{'total'.ljust(width)}  {'':<7}  {report.seconds:>8.2f}   "
                 f"(dbt parses: {len(report.parses)}, compiles: {len(report.compiles)}, "
                 f"dbt invocations: {report.dbt_invocations})")
    return "\n".join(lines)


# -- errors: one line on stderr ----------------------------------------------------------


def error_lines(exc: "RefillError") -> list[str]:
    """What stderr says of ``exc``: its message as one line; when that line had to be
    clipped, each finding on its own line (the first ``FINDINGS_SHOWN``); the run's full
    log; and each next step, a whole command (a clipped command cannot be pasted)."""
    line = one_line_error(exc.message, ERROR_LIMIT - len(ERROR_PREFIX))
    lines = [f"{ERROR_PREFIX}{line}"]
    if line != " ".join(exc.message.split()):  # clipped: one line per finding
        lines += [f"{FINDING_PREFIX}{one_line_error(finding, ERROR_LIMIT - len(FINDING_PREFIX))}"
                  for finding in exc.findings[:FINDINGS_SHOWN]]
        if len(exc.findings) > FINDINGS_SHOWN:
            where = " (the full log has them all)" if exc.log_path is not None else ""
            lines.append(f"refill:   … {len(exc.findings) - FINDINGS_SHOWN} more{where}")
    if exc.log_path is not None:
        lines.append(f"refill: full log: {exc.log_path}")
    lines += [f"refill: next: {step}" for step in exc.next_steps]
    return lines


def problems_table(problems: Sequence["PreflightProblem"]) -> str:
    """Every preflight problem, one row each: class, model, exit code of the class, what to do."""
    rows = [(p.kind, p.model or "-", str(int(p.exit_code)), p.message) for p in problems]
    header = ("problem", "model", "exit", "what and why")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        lead = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  "
        # the message wraps under its column: every line within LINE_LIMIT, nothing cut
        wrapped = textwrap.wrap(row[3], max(40, LINE_LIMIT - len(lead)), break_on_hyphens=False) or [""]
        lines += [lead + wrapped[0], *(" " * len(lead) + part for part in wrapped[1:])]
    return "\n".join(["preflight refused the plan; nothing was written:", *lines])


def refusal_line(refused: "PreflightRefused") -> str:
    """The one stderr line of a preflight refusal (the table goes to stdout)."""
    if len(refused.problems) == 1:  # the one line names the model and the reason
        message = refused.problems[0].one_line() + "; nothing was written"
        return f"{ERROR_PREFIX}{one_line_error(message, ERROR_LIMIT - len(ERROR_PREFIX))}"
    kinds = ", ".join(sorted({p.kind for p in refused.problems}))
    return (f"{ERROR_PREFIX}preflight refused the plan: {len(refused.problems)} problem(s) ({kinds}), "
            f"listed on stdout; nothing was written")


# -- commands: a result in, text (or JSON) out -------------------------------------------


def as_json(document: Any) -> str:
    """A result's ``as_dict()`` as indented JSON (dates and paths as strings)."""
    return json.dumps(document, indent=2, default=str)


def detection_text(found: "Detection") -> str:
    """``refill detect``: the window, the damaged days by model, and the command that repairs them."""
    lines = [
        f"refill detect: target {found.target}, schema {found.schema}, "
        f"{found.first} .. {found.last} ({(found.last - found.first).days + 1} days)",
        f"prices model {found.prices_model}: {found.entities} entities ({', '.join(found.entity_columns)}); "
        f"{len(found.models_checked)} downstream model(s) checked; a price is due {found.lag_days} day(s) after "
        "its day (--expected-lag)",
        *(f"not checked: {model}: {why}" for model, why in found.not_checked.items()),
        "",
    ]
    if found.clean:
        lines.append("clean: every entity is priced on every day it is due, and no price-derived column of a checked "
                     "model reads 0 where a price exists.")
        return "\n".join(clip(line) for line in lines)
    width = max([len(m) for d in found.days for m in d.damaged] + [len(p[0]) for p in found.periods]
                + [len("damaged model")])
    lines.append(f"{'day':<10}  {'missing prices':>14}  {'damaged model'.ljust(width)}  {'rows':>6}")
    for finding in found.days:
        missing = f"{len(finding.missing_entities)} of {found.entities}"
        models = sorted(finding.damaged.items()) or [("-", 0)]
        for i, (model, rows) in enumerate(models):
            head = f"{finding.day.isoformat():<10}  {missing:>14}" if i == 0 else " " * 26
            lines.append(f"{head}  {model.ljust(width)}  {rows if model != '-' else '':>6}")
    for model, unit, first_day, keys in found.periods:
        lines.append(f"{first_day.isoformat():<10}  {'(' + unit + ')':>14}  {model.ljust(width)}  {keys:>6}")
    lines.append("")
    damaged_days = sum(1 for d in found.days if d.damaged)
    lines.append(f"{damaged_days} day(s) with damaged rows, {sum(1 for d in found.days if d.missing_entities)} "
                 f"day(s) missing prices, {len(found.periods)} week(s)/month(s) off a recompute of their SQL "
                 "(keys that differ).")
    if found.backfill_first:
        short = [f"{d.day}: {', '.join(d.missing_entities[:5])}{' …' if len(d.missing_entities) > 5 else ''}"
                 for d in found.days if d.missing_entities]
        lines.append("Missing prices (backfill the prices feed first: a day without its price cannot be "
                     "recomputed):")
        lines += [f"  {line}" for line in short]
        lines.append("Then repair with:")
    else:
        lines.append("Repair with:")
    return "\n".join([*(clip(line) for line in lines), f"  {found.command}"])  # the command whole


def detection_json(found: "Detection") -> str:
    return json.dumps(found.as_dict(), indent=2)


def run_record_text(record: "RunRecord") -> str:
    """``refill report``: the run's status, its steps, and the audit before publish."""
    data = record.data
    lines = [clip(f"refill run {record.run_id}: {data.get('status')}  (attempts {data.get('attempts', 1)}, "
                  f"started {data.get('started')}, updated {data.get('updated')})")]
    if data.get("error"):
        # the error whole, wrapped: this is where it is read after the fact
        lines += textwrap.wrap(f"error: {data['error']}", LINE_LIMIT, subsequent_indent="  ",
                               break_on_hyphens=False)
    if data.get("command"):
        lines.append(f"command: {data['command']}")  # whole: it is pasted to resume
    steps = data.get("steps", {})
    width = max([len(key) for key in steps] + [4])
    lines += ["", f"{'step'.ljust(width)}  {'status':<7}  {'seconds':>8}  at"]
    lines += [clip(f"{key.ljust(width)}  {step.get('status', ''):<7}  {step.get('seconds', 0):>8.2f}  "
                   f"{step.get('at', '')}") for key, step in steps.items()]
    audits = record.audits()
    lines += ["", "audit before publish (one line per cohort model and month):"]
    lines += [clip(f"  {a.summary_line()}") for a in audits] or ["  (no cohort month was audited)"]
    for a in audits:
        for reason in a.unexplained:
            lines.append(clip(f"  unexplained  {a.model} {a.month}: {reason}"))
        for column in a.detail.get("columns", []):
            if column.get("changed"):
                lines.append(clip(
                    f"    {a.model} {a.month} {column['name']}: {column['changed']} row(s) changed"
                    f" {column.get('first_day')}..{column.get('last_day')}, sum {column.get('sum_live')} → "
                    f"{column.get('sum_staged')}" + ("  (price-derived)" if column.get("price_derived") else "")))
    return "\n".join(lines)


def run_record_json(record: "RunRecord") -> str:
    return as_json(record.as_dict())


def cleanup_decisions(result: "CleanupResult") -> str:
    """``refill cleanup``'s table, printed before anything is dropped: each leftover, what
    happens to it, and why."""
    lines = []
    if result.holder:
        holder = result.holder
        lines.append(f"a refill holds the target (run {holder.get('run_id')}, pid {holder.get('pid')} on "
                     f"{holder.get('host')}): its staging tables and backups are kept")
    if not result.decisions:
        lines.append(f"no orphaned tables in the databases of this project ({result.schema} and its custom schemas).")
        return "\n".join(clip(line) for line in lines)
    names = [f"{d.orphan.database}.{d.orphan.table_name}" for d in result.decisions]
    width = max(len(name) for name in names)
    verb = "would drop" if result.dry_run else "drop"
    lines.append(f"{'table'.ljust(width)}  {'action':<10}  why")
    lines += [f"{name.ljust(width)}  {(verb if d.drop else 'keep'):<10}  {d.reason}"
              for name, d in zip(names, result.decisions)]
    if result.dry_run:
        lines.append(f"--dry-run: {result.to_drop} table(s) would be dropped; nothing was dropped.")
    return "\n".join(clip(line) for line in lines)


def cleanup_done(result: "CleanupResult") -> str:
    """The line after the drops."""
    return f"dropped {result.to_drop} table(s), kept {len(result.decisions) - result.to_drop}."


def rollback_nothing_to_restore(run_id: str) -> str:
    return f"[rollback] run {run_id} stopped before Phase 1 changed anything: nothing to restore"


def rollback_restoring(run_id: str, months: int, tables: int, view_months: int, views: int) -> str:
    return clip(f"[rollback] restoring {months} month(s) of {tables} cohort table(s) and {view_months} of"
                f" {views} materialized-view target(s) from run {run_id}'s backups")


def rollback_rebuilding(tag: str) -> str:
    return clip(f"[rollback] rebuilding the cohort's descendants from the restored months (tag:{tag}+)")


def rollback_done(run_id: str) -> str:
    return f"[rollback] run {run_id} rolled back; the target holds its pre-refill months again"


def canary_text(run: "CanaryRun") -> str:
    """``refill canary``: each violation, then the window and the counts."""
    lines = [clip(f"  {v.describe()}") for v in run.violations]
    lines.append(f"canary {run.first_day}..{run.end}: {run.scans} scan(s), {len(run.violations)} violation(s)")
    return "\n".join(lines)


def init_text(result: "InitResult") -> str:
    """``refill init``: each file and what happened to it, the warnings, and what to do next."""
    verb = {"create": "created", "update": "updated", "overwrite": "overwrote"}
    lines = []
    for change in result.changes:
        action = (f"would be {verb[change.action]}" if result.dry_run else verb[change.action]) \
            if change.writes else change.action
        lines.append(clip(f"{action:<18} {os.path.relpath(change.path, result.project_dir)}  ({change.note})"))
    lines += [warning(w) for w in result.warnings]
    if result.dry_run:
        lines.append("--dry-run: nothing was written.")
    lines.append(init_next_steps(result.project.get("profile") or result.project.get("name")))
    return "\n".join(lines)


def init_next_steps(profile: str | None) -> str:
    """What to run after ``refill init``, and the snippets to paste (pre-commit, profile)."""
    return f"""
Next:
  python -m refill dbt deps          # install the package
  python -m refill lint              # check the tagged models against the refill contract

pre-commit (.pre-commit-config.yaml) — lint the models a commit changes:
  repos:
    - repo: local
      hooks:
        - id: refill-lint
          name: refill contract
          entry: refill lint
          language: system
          files: \\.sql$
          require_serial: true

Rehearse a recovery on the embedded engine (add to your profile `{profile}` in profiles.yml,
then `python -m refill dbt build --target rehearsal`; keep .refill/ out of git):
  {profile}:
    outputs:
      rehearsal:
        type: clickhouse
        driver: chdb
        chdb_path: .refill/chdb   # data directory, relative to the project
        schema: dbt
        threads: 2"""


def diff_table(diffs: Sequence["ModelDiff"], left: str = "refilled", right: str = "truth") -> str:
    """Rows only on each side, per model, and the total (``refill demo``'s proof)."""
    width = max([len(d.model) for d in diffs] + [5])
    lines = [f"{'model'.ljust(width)}  {('only ' + left).rjust(14)}  {('only ' + right).rjust(12)}"]
    for d in diffs:
        lines.append(f"{d.model.ljust(width)}  {d.only_left:>14}  {d.only_right:>12}")
    total = sum(d.differing for d in diffs)
    lines.append(f"{'differing rows'.ljust(width)}  {total:>14}")
    return "\n".join(clip(line) for line in lines)


def damage_table(rows: Sequence["DamageRow"], gap: Any, api_values: Sequence[tuple[str, object]]) -> str:
    """The seed's Step 3 queries: rows and zero-USD rows per day of the balances table, and
    the gpay API view on the gap day."""
    lines = ["int_execution_tokens_balances_daily", f"  {'day':<10}  {'rows':>6}  {'zero_usd':>8}"]
    lines += [f"  {row.day.isoformat():<10}  {row.rows:>6}  {row.zero_usd:>8}" for row in rows]
    lines.append(f"api_execution_gpay_volume_payments_by_token_daily on {gap}")
    lines += [clip(f"  {label:<6}  {value}") for label, value in api_values]
    return "\n".join(lines)


def demo_verdict(differing: int, before: int, seconds: float) -> str:
    return (f"\n{'OK' if differing == 0 else 'FAILED'}: {differing} differing rows after the refill "
            f"(was {before}); done in {seconds:.0f}s")


def rehearsal(project_dir: Any, location: Any) -> str:
    """How to point the lab's own profile at the demo's warehouse (commands, printed whole)."""
    return "\n".join([f"Rehearse the runbook (README, \"Runbook\") on it from {project_dir}:",
                      f"  cd {project_dir}",
                      f"  export REFILL_LAB_DATA={location}",
                      "  python -m refill detect --today 2026-04-27"])
