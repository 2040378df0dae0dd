"""Each command's output is a renderer's (issue #17, deliverable 4): a result object in, the
text (or JSON) out, every line within ``render.LINE_LIMIT`` but a command to paste. The
command's entry point only writes what the renderer returns."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

import refill
from refill import render
from refill.commands.adopt import Change, InitOptions, InitResult, run_init
from refill.commands.cleanup import CleanupResult, Decision, Orphan
from refill.commands.detect import DayFinding, Detection, repair_command
from refill.commands.operations import CanaryRun
from refill.commands.runreport import RunRecord
from refill.errors import ExitCode, PreflightProblem, PreflightRefused
from refill.lab.diff import ModelDiff
from refill.lab.simulator import DamageRow
from refill.lint.report import skipped_paths
from refill.run.phases.canary import Violation

PACKAGE_DIR = Path(refill.__file__).resolve().parent
REPO = Path(__file__).resolve().parents[2]
REALISTIC = Path(__file__).parent / "fixtures" / "lint" / "realistic"
LONG = "a_model_name_that_goes_on_" * 10  # 260 characters: past any line


def within_limit(text: str) -> bool:
    return all(len(line) <= render.LINE_LIMIT for line in text.splitlines())


def test_only_the_rendering_module_prints():
    """54 print() calls in 18 modules decided how refill looked; a print() outside render.py
    is a line no renderer owns (no width rule, no JSON twin, not testable without a run)."""
    printing = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path == PACKAGE_DIR / "render.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                printing.append(f"{path.relative_to(PACKAGE_DIR)}:{node.lineno}")
    assert printing == []


# -- the writer, warnings, errors ------------------------------------------------------------


def test_emit_writes_the_text_and_a_newline_to_the_stream_given(capsys):
    render.emit("one\ntwo")
    render.emit("three", stream=__import__("sys").stderr)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("one\ntwo\n", "three\n")


def test_a_short_warning_is_one_line():
    assert render.warning("taking over a stale refill lock") == "refill: warning: taking over a stale refill lock"


def test_a_long_warning_wraps_under_its_message_and_loses_no_word():
    message = "the project defines refill_safe_pre_hook itself (macros/db/hooks.sql): " + "word " * 80 + "the end"
    text = render.warning(message)
    lines = text.splitlines()
    assert len(lines) > 1 and within_limit(text)
    assert lines[0].startswith("refill: warning: the project defines refill_safe_pre_hook itself")
    assert all(line.startswith(" " * len(render.WARNING_PREFIX)) for line in lines[1:])
    assert " ".join(text[len(render.WARNING_PREFIX):].split()) == " ".join(message.split())


def test_warn_goes_to_stderr(capsys):
    render.warn("--vars start_month: refill sets this itself")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "refill: warning: --vars start_month: refill sets this itself\n"


def test_one_refused_problem_is_named_on_its_line_and_several_are_counted():
    one = PreflightRefused([PreflightProblem("contract", "supply", "(RF002) does not restrict `date`")])
    assert render.refusal_line(one).startswith("refill: error: ")
    assert "supply" in render.refusal_line(one) and render.refusal_line(one).endswith("; nothing was written")
    several = PreflightRefused([PreflightProblem("graph", "a", "x"),
                                PreflightProblem("price-coverage", None, "y", ExitCode.CHECK_FAILED)])
    assert render.refusal_line(several) == ("refill: error: preflight refused the plan: 2 problem(s) (graph, "
                                            "price-coverage), listed on stdout; nothing was written")


def test_a_long_problem_wraps_under_its_column_in_the_refusal_table():
    table = render.problems_table([PreflightProblem("graph", "balances", "word " * 100)])
    lines = table.splitlines()
    assert lines[0] == "preflight refused the plan; nothing was written:"
    assert lines[1].split()[:4] == ["problem", "model", "exit", "what"]
    assert lines[2].split()[:3] == ["graph", "balances", "5"] and len(lines) > 3 and within_limit(table)


# -- cleanup ---------------------------------------------------------------------------------


def _decision(name: str, drop: bool, reason: str, database: str = "dbt") -> Decision:
    return Decision(Orphan(name, "dbt_backup", "", False, 90_000, 1, database=database), drop, reason)


def test_cleanup_lists_each_table_its_action_and_why():
    result = CleanupResult("dbt", [_decision("a__dbt_backup", True, "dbt_backup, 1d old"),
                                   _decision("bb__dbt_backup", False, "younger than 1d")], False, {})
    assert render.cleanup_decisions(result).splitlines() == [
        "table               action      why",
        "dbt.a__dbt_backup   drop        dbt_backup, 1d old",
        "dbt.bb__dbt_backup  keep        younger than 1d"]
    assert render.cleanup_done(result) == "dropped 1 table(s), kept 1."


def test_cleanup_dry_run_says_what_would_be_dropped_and_who_holds_the_target():
    holder = {"run_id": "0123456789ab", "pid": 42, "host": "ci"}
    result = CleanupResult("dbt", [_decision("a__dbt_backup", True, "dbt_backup, 1d old")], True, holder)
    lines = render.cleanup_decisions(result).splitlines()
    assert lines[0] == ("a refill holds the target (run 0123456789ab, pid 42 on ci): "
                        "its staging tables and backups are kept")
    assert lines[2].split()[1:3] == ["would", "drop"]
    assert lines[-1] == "--dry-run: 1 table(s) would be dropped; nothing was dropped."


def test_cleanup_with_nothing_left_over_says_where_it_looked():
    assert render.cleanup_decisions(CleanupResult("dbt", [], False, {})) == (
        "no orphaned tables in the databases of this project (dbt and its custom schemas).")
    assert render.cleanup_done(CleanupResult("dbt", [], False, {})) == "dropped 0 table(s), kept 0."


def test_cleanup_lines_stay_within_the_limit_for_long_names():
    result = CleanupResult("dbt", [_decision(LONG, False, "no model of this project owns it")], False, {})
    assert within_limit(render.cleanup_decisions(result))


# -- rollback --------------------------------------------------------------------------------


def test_rollback_says_what_it_restores_rebuilds_and_finishes():
    assert render.rollback_restoring("0123456789ab", 2, 3, 2, 1) == (
        "[rollback] restoring 2 month(s) of 3 cohort table(s) and 2 of 1 materialized-view target(s) "
        "from run 0123456789ab's backups")
    assert render.rollback_rebuilding("refill_append") == (
        "[rollback] rebuilding the cohort's descendants from the restored months (tag:refill_append+)")
    assert render.rollback_done("0123456789ab") == (
        "[rollback] run 0123456789ab rolled back; the target holds its pre-refill months again")
    assert render.rollback_nothing_to_restore("0123456789ab") == (
        "[rollback] run 0123456789ab stopped before Phase 1 changed anything: nothing to restore")


# -- detect ----------------------------------------------------------------------------------


def _readme_block(scenario: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- runbook: {scenario} output -->\n```text\n(.*?)\n```", text, re.S)
    return match.group(1).splitlines()


SEED_DAMAGE = {"fct_execution_tokens_metrics_daily": 4, "int_execution_gpay_activity_daily": 2,
               "int_execution_gpay_payments_daily": 3, "int_execution_gpay_volume_by_token_daily": 2,
               "int_execution_gpay_wallet_balances_daily": 10, "int_execution_tokens_balance_cohorts_daily": 4,
               "int_execution_tokens_balances_daily": 140, "int_execution_tokens_supply_holders_daily": 4,
               "int_execution_transfers_usd_daily": 4}


def _seed_detection(**changes) -> Detection:
    fields = dict(target="lab", schema="refill_lab", first=dt.date(2026, 2, 27), last=dt.date(2026, 4, 27),
                  prices_model="int_execution_token_prices_daily", entity_columns=("token_address", "symbol"),
                  entities=4, models_checked=[f"m{i}" for i in range(11)],
                  days=[DayFinding(dt.date(2026, 4, 17), [], dict(SEED_DAMAGE))],
                  command=repair_command(dt.date(2026, 4, 17), dt.date(2026, 4, 27), ()), lag_days=1)
    return Detection(**(fields | changes))


def test_detect_prints_what_the_readme_runbook_shows():
    assert render.detection_text(_seed_detection()).splitlines() == _readme_block("price-gap")


def test_detect_clean_says_so_and_json_is_the_results_dict():
    clean = _seed_detection(days=[], command=None)
    assert render.detection_text(clean).splitlines()[-1].startswith("clean: every entity is priced")
    assert json.loads(render.detection_json(_seed_detection())) == _seed_detection().as_dict()


def test_detect_clips_a_long_reason_but_prints_the_repair_command_whole():
    passthrough = ("--project-dir", "/very/long/path" * 20)
    found = _seed_detection(not_checked={"weekly": "no date column " + "x" * 300},
                            command=repair_command(dt.date(2026, 4, 17), dt.date(2026, 4, 27), passthrough))
    lines = render.detection_text(found).splitlines()
    assert lines[-1] == f"  {found.command}" and len(lines[-1]) > render.LINE_LIMIT
    assert all(len(line) <= render.LINE_LIMIT for line in lines[:-1])
    assert any(line.startswith("not checked: weekly: no date column") for line in lines)


def test_detect_asks_for_the_backfill_before_the_repair():
    found = _seed_detection(days=[DayFinding(dt.date(2026, 4, 17), ["0xa", "0xb"], {})])
    text = render.detection_text(found)
    assert "2026-04-17: 0xa, 0xb" in text
    assert text.splitlines()[-2:] == ["Then repair with:", f"  {found.command}"]


# -- report ----------------------------------------------------------------------------------


AUDIT = {"model": "balances", "month": "2026-04-01", "verdict": "published", "rows_live": 10, "rows_staged": 10,
         "keys_only_live": 0, "keys_only_staged": 0, "columns_changed": ["balance_usd"], "unexplained": [],
         "detail": {"columns": [{"name": "balance_usd", "changed": 2, "first_day": "2026-04-17",
                                 "last_day": "2026-04-17", "sum_live": 0, "sum_staged": 7,
                                 "price_derived": True}]}}


def _record(**data) -> RunRecord:
    journal = {"run_id": "0123456789ab", "status": "done", "attempts": 1, "started": "s", "updated": "u",
               "command": "python -m refill run --from-date 2026-04-17",
               "steps": {"phase1:2026-04-01": {"status": "ok", "seconds": 1.5, "at": "t",
                                               "details": {"audit": [AUDIT]}}}} | data
    return RunRecord("0123456789ab", journal, [AUDIT])


def test_report_shows_the_run_its_steps_and_the_audit_of_each_month():
    lines = render.run_record_text(_record()).splitlines()
    assert lines[0] == "refill run 0123456789ab: done  (attempts 1, started s, updated u)"
    assert lines[1] == "command: python -m refill run --from-date 2026-04-17"
    assert lines[3].split() == ["step", "status", "seconds", "at"]
    assert lines[4].split() == ["phase1:2026-04-01", "ok", "1.50", "t"]
    assert "balances  2026-04-01  rows 10→10 (+0)" in lines[7] and lines[7].endswith("published")
    assert lines[8] == ("    balances 2026-04-01 balance_usd: 2 row(s) changed 2026-04-17..2026-04-17, "
                        "sum 0 → 7  (price-derived)")


def test_report_wraps_a_long_error_whole_and_json_holds_the_audit():
    error = "verification failed: " + "; ".join(f"db.model_{i}.value_usd is 0 on 2026-04-17" for i in range(20))
    text = render.run_record_text(_record(status="failed", error=error))
    assert within_limit(text)
    error_lines = text.split("\ncommand:")[0].splitlines()[1:]
    assert " ".join(" ".join(error_lines).split()) == f"error: {error}"
    assert json.loads(render.run_record_json(_record()))["audit"] == [AUDIT]


def test_report_of_a_run_with_no_audit_says_so():
    record = RunRecord("r", {"status": "failed", "steps": {}}, [])
    assert render.run_record_text(record).splitlines()[-1] == "  (no cohort month was audited)"


# -- canary ----------------------------------------------------------------------------------


def test_canary_lists_each_violation_then_the_window_and_counts():
    violation = Violation("balances", "0xa", dt.date(2026, 4, 17), 10, 0, 0, "zero")
    run = CanaryRun(dt.date(2026, 3, 29), dt.date(2026, 4, 27), 2, [violation])
    assert render.canary_text(run).splitlines() == [
        "  balances 0xa 2026-04-17: 10 -> 0 (zero)", "canary 2026-03-29..2026-04-27: 2 scan(s), 1 violation(s)"]
    assert render.canary_text(CanaryRun(dt.date(2026, 3, 29), dt.date(2026, 4, 27), 1, [])) == (
        "canary 2026-03-29..2026-04-27: 1 scan(s), 0 violation(s)")


# -- init ------------------------------------------------------------------------------------


def test_init_lists_each_file_then_the_warnings_and_the_next_steps(tmp_path):
    changes = [Change(tmp_path / "packages.yml", "create", "the refill package", "x"),
               Change(tmp_path / "macros" / "refill_shims.sql", "kept", "differs; --force")]
    result = InitResult(tmp_path, changes, ["prices_model is left for you"], {"name": "ledger"}, dry_run=True)
    lines = render.init_text(result).splitlines()
    assert lines[:4] == ["would be created   packages.yml  (the refill package)",
                         "kept               macros/refill_shims.sql  (differs; --force)",
                         "refill: warning: prices_model is left for you",
                         "--dry-run: nothing was written."]
    assert "Next:" in lines and "  ledger:" in lines and r"          files: \.sql$" in lines


def test_init_on_a_project_with_its_own_hooks_prints_no_line_past_the_limit(tmp_path, capsys):
    """The warning about a project's own refill_safe_pre_hook was one 230-character line."""
    project = tmp_path / "ledger"
    shutil.copytree(REALISTIC, project)
    assert run_init(InitOptions(project_dir=project, package=str(REPO), dry_run=True)) == 0
    out = capsys.readouterr().out
    assert within_limit(out)
    assert out.count("refill: warning: the project defines ") == 3
    assert "so it must do what refill.refill_safe_pre_hook does" in " ".join(out.split())


# -- demo, lint ------------------------------------------------------------------------------


def test_demo_tables():
    diffs = [ModelDiff("balances", 3, 1), ModelDiff("prices", 0, 0)]
    assert render.diff_table(diffs, left="incident").splitlines() == [
        "model      only incident    only truth",
        "balances               3             1",
        "prices                 0             0",
        "differing rows               4"]
    damage = render.damage_table([DamageRow(dt.date(2026, 4, 17), 35, 35)], dt.date(2026, 4, 17), [("volume", 0)])
    assert damage.splitlines() == ["int_execution_tokens_balances_daily", "  day           rows  zero_usd",
                                   "  2026-04-17      35        35",
                                   "api_execution_gpay_volume_payments_by_token_daily on 2026-04-17",
                                   "  volume  0"]
    assert render.demo_verdict(0, 371, 64.4) == "\nOK: 0 differing rows after the refill (was 371); done in 64s"
    assert render.banner("2. The damage") == "\n=== 2. The damage ==="
    assert render.rehearsal(Path("/lab"), "data").splitlines()[1:3] == ["  cd /lab", "  export REFILL_LAB_DATA=data"]


def test_lint_lists_skipped_paths_within_the_limit():
    assert skipped_paths(["a.sql", "b.sql"]) == "refill lint: skipped 2 path(s) that do not exist: a.sql, b.sql"
    many = skipped_paths([f"models/{LONG[:40]}_{i}.sql" for i in range(20)])
    assert within_limit(many) and many.count(".sql") == 20


@pytest.mark.parametrize("renderer", [render.cleanup_decisions, render.cleanup_done])
def test_cleanup_renderers_are_pure(renderer, capsys):
    renderer(CleanupResult("dbt", [_decision("t", True, "r")], False, {}))
    assert capsys.readouterr() == ("", "")
