"""`refill lint` as users and pre-commit run it: modes, formats, selection, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from refill.cli import main
from refill.errors import ContractViolation, ExitCode
from refill.lint import Finding, lint_project, raise_for_errors

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
PROJECT = FIXTURES / "project"
GOOD = PROJECT / "models" / "good"
BAD = PROJECT / "models" / "bad"
TEXT_LINE = re.compile(r"^(?P<path>[^:]+\.sql):(?P<line>\d+):(?P<col>\d+): (?P<code>RF\d{3}) (?P<message>.+)$")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["lint", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_clean_files_exit_0(capsys):
    code, out, err = run(capsys, *sorted(GOOD.glob("*.sql")))
    assert (code, out) == (ExitCode.OK, "")
    assert "0 error(s), 0 warning(s); 6 of 6 model(s) carry the refill tag" in err


def test_violations_exit_5_with_one_text_line_each(capsys):
    code, out, _ = run(capsys, BAD / "wrong_branch.sql", BAD / "plain_mergetree.sql")
    lines = out.splitlines()
    assert code == ExitCode.CONTRACT and len(lines) == 2
    parsed = [TEXT_LINE.match(line).groupdict() for line in lines]
    assert [(p["code"], p["line"], p["col"]) for p in parsed] == [("RF004", "5", "5"), ("RF001", "4", "5")]
    assert parsed[0]["path"].endswith("plain_mergetree.sql")


def test_warnings_alone_also_fail_the_lint(capsys):
    code, out, _ = run(capsys, BAD / "order_by_not_grain.sql")
    assert code == ExitCode.CONTRACT and " RF009 " in out


def test_json_format(capsys):
    code, out, _ = run(capsys, "--format", "json", BAD / "insert_overwrite_day_window.sql", BAD / "wrong_branch.sql")
    document = json.loads(out)
    assert code == ExitCode.CONTRACT
    assert [f["code"] for f in document["findings"]] == ["RF006", "RF001"]
    assert set(document["findings"][0]) == {"path", "line", "col", "code", "message", "model", "severity", "hint"}
    assert document["summary"] == {"errors": 2, "warnings": 0, "info": 0, "suppressed": 0, "models_checked": 2,
                                   "models_seen": 2}


def test_github_format_annotates_errors_and_warnings(capsys):
    code, out, _ = run(capsys, "--format", "github", BAD / "inlined_hooks.sql", BAD / "plain_mergetree.sql")
    lines = out.splitlines()
    assert code == ExitCode.CONTRACT
    assert lines[0].startswith("::warning file=") and ",line=9,col=5,title=RF003 (inlined_hooks)::pre_hook inlines" in lines[0]
    assert any(line.startswith("::error file=") and "RF004" in line for line in lines)
    assert all(". Fix: " in line for line in lines)


def test_noqa_suppressed_files_exit_0(capsys):
    code, out, err = run(capsys, BAD / "noqa_line.sql", BAD / "noqa_file.sql")
    assert (code, out) == (ExitCode.OK, "") and "2 suppressed by noqa" in err


def test_folders_and_globs_are_expanded(capsys):
    code, out, err = run(capsys, PROJECT / "models" / "good", str(BAD / "wrong_*.sql"))
    assert code == ExitCode.CONTRACT and out.count("\n") == 1 and "7 of 7 model(s)" in err


def test_deleted_files_from_a_change_are_ignored(capsys):
    code, out, err = run(capsys, GOOD / "seed_exact.sql", PROJECT / "models" / "good" / "deleted_in_this_commit.sql")
    assert (code, out) == (ExitCode.OK, "")
    assert "skipped 1 path(s) that do not exist" in err


def test_when_every_path_is_missing_it_is_bad_input_not_a_pass(capsys):
    # A mistyped folder used to pass as "0 of 0 model(s)" with exit 0.
    code, out, err = run(capsys, PROJECT / "modles", PROJECT / "models" / "gone.sql")
    assert (code, out) == (ExitCode.BAD_INPUT, "")
    assert err.count("\n") == 1 and "no such file or directory" in err and "modles" in err


def test_sql_outside_the_model_paths_is_not_a_model(capsys):
    code, _, err = run(capsys, PROJECT / "macros" / "refill_strategy.sql")
    assert code == ExitCode.OK and "0 of 0 model(s)" in err


def test_the_whole_project_by_default(capsys, monkeypatch):
    monkeypatch.chdir(PROJECT)
    code, out, _ = run(capsys)
    assert code == ExitCode.CONTRACT
    assert out.splitlines()[0].startswith("models/bad/append_without_window.sql:15:")


def test_select_by_name_and_glob(capsys):
    code, out, err = run(capsys, "--project-dir", PROJECT, "--select", "wrong_branch,seed_*", "--select", "folder_tagged")
    assert code == ExitCode.CONTRACT and "3 of 3 model(s)" in err
    assert {TEXT_LINE.match(line)["code"] for line in out.splitlines()} == {"RF001"}


def test_tag_option_picks_another_cohort(capsys):
    code, out, err = run(capsys, "--project-dir", PROJECT, "--tag", "defi")
    assert (code, out) == (ExitCode.OK, "") and "1 of 27 model(s) carry the refill tag" in err


@pytest.mark.parametrize("args, message", [
    (["--format", "xml"], "invalid choice: 'xml'"),
    (["--manifest", "m.json", "--parse"], "pass one of them"),
    (["--manifest", "m.json", "a.sql"], "model paths select files mode"),
    (["--manifest", "/nonexistent/manifest.json"], "cannot read manifest"),
])
def test_usage_errors_exit_2_with_one_line(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == ExitCode.BAD_INPUT and out == ""
    assert err.startswith("refill: error: ") and message in err and err.count("\n") == 1


def test_a_folder_without_dbt_project_yml_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "--project-dir", tmp_path)
    assert code == ExitCode.BAD_INPUT and "no dbt_project.yml" in err


def test_parallel_workers_report_the_same_findings(monkeypatch):
    from refill.lint import runner
    from refill.lint.files import project_models

    models = project_models(PROJECT).models
    monkeypatch.setattr(runner, "PARALLEL_MIN_MODELS", 2)
    in_workers, in_process = runner.lint_models(models, jobs=2), runner.lint_models(models, jobs=1)
    assert in_workers.findings == in_process.findings and in_workers.suppressed == in_process.suppressed == 2


def test_broken_models_do_not_crash_the_run(capsys):
    code, out, _ = run(capsys, "--project-dir", FIXTURES / "broken")
    assert code == ExitCode.CONTRACT and out.count(" RF000 ") == 5


# -- the orchestrator's preflight ------------------------------------------------------

def test_preflight_refuses_with_exit_5_on_errors_and_passes_warnings():
    findings = lint_project(PROJECT).findings
    with pytest.raises(ContractViolation) as refused:
        raise_for_errors(findings)
    assert refused.value.exit_code == ExitCode.CONTRACT
    assert "wrong_branch (RF001)" in refused.value.message and "insert_overwrite_day_window (RF006)" in refused.value.message
    raise_for_errors([f for f in findings if f.severity == "warning"])  # warnings never refuse


def test_preflight_cli_message_is_one_line(capsys, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    findings = lint_project(project).findings
    assert all(isinstance(f, Finding) for f in findings)
    with pytest.raises(ContractViolation) as refused:
        raise_for_errors(findings)
    assert "\n" not in refused.value.message


# -- the pre-commit hook ---------------------------------------------------------------

def test_pre_commit_hook_runs_the_lint_on_changed_model_files(capsys):
    import yaml

    [hook] = yaml.safe_load((Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["language"]) == ("refill-lint", "python")
    assert re.search(hook["files"], "models/x.sql") and not re.search(hook["files"], "models/x.yml")
    program, *arguments = hook["entry"].split()
    assert program == "refill"  # the console script: [project.scripts] refill = "refill.cli:main"
    changed = [GOOD / "seed_exact.sql", BAD / "wrong_branch.sql", PROJECT / "models" / "removed.sql"]
    assert main([*arguments, *map(str, changed)]) == ExitCode.CONTRACT
    assert capsys.readouterr().out.count(" RF001 ") == 1


def test_a_preflight_refusal_is_a_table_on_stdout_and_one_line_on_stderr(capsys, monkeypatch):
    from refill import cli
    from refill.errors import PreflightProblem, PreflightRefused

    problems = [PreflightProblem("graph", "balances", "table downstream of prices, read by cohort model supply"),
                PreflightProblem("contract", "supply", "(RF002) the query reading `raw` does not restrict `date`"),
                PreflightProblem("price-coverage", None, "no price on 2026-04-17", ExitCode.CHECK_FAILED)]

    def refuse(args):
        raise PreflightRefused(problems)

    monkeypatch.setitem(cli.HANDLERS, "lint", refuse)
    code = main(["lint"])
    captured = capsys.readouterr()
    assert code == ExitCode.CONTRACT  # the most severe class's code
    rows = captured.out.splitlines()
    assert rows[1].split()[:3] == ["problem", "model", "exit"]
    assert [row.split()[:3] for row in rows[2:]] == [
        ["graph", "balances", "5"], ["contract", "supply", "5"], ["price-coverage", "-", "3"]]
    [line] = captured.err.splitlines()
    assert line.startswith("refill: error: preflight refused the plan: 3 problem(s)") and "graph" in line
