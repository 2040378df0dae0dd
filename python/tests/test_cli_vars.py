"""``--vars``: the project's dbt vars, on every command that parses the project, under refill's own."""

from __future__ import annotations

import json

import pytest

from refill.cli import main
from refill.dbt.session import DbtSession
from refill.dbt.settings import parse_vars, resolve_settings
from refill.errors import BadInput

COMMANDS = [
    ["run", "--from-date", "2026-04-17", "--today", "2026-04-27"],
    ["plan", "--from-date", "2026-04-17", "--today", "2026-04-27"],
    ["detect", "--today", "2026-04-27"],
    ["canary", "--from-date", "2026-04-17", "--today", "2026-04-27"],
    ["rollback", "--run", "pending"],
    ["cleanup"],
    ["kill-mutations"],
    ["lint", "--parse"],
]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "dbt_project.yml").write_text(
        "name: p\nprofile: p\nvars:\n  prices_model: from_project\n  raw_schema: raw_project\n")
    (tmp_path / "profiles.yml").write_text(
        "p:\n  target: t\n  outputs:\n    t: {type: clickhouse, driver: chdb, schema: s}\n")
    return tmp_path


def test_vars_are_yaml_or_json_mappings():
    assert parse_vars("{raw_schema: raw, n: 2}") == {"raw_schema": "raw", "n": 2}
    assert parse_vars('{"raw_schema": "raw"}') == {"raw_schema": "raw"}
    assert parse_vars("raw_schema: raw") == {"raw_schema": "raw"}
    assert parse_vars(None) == parse_vars("  ") == {}


@pytest.mark.parametrize("text, says", [("{raw_schema: raw", "is not valid YAML"),
                                        ("[1, 2]", "must be a YAML mapping"),
                                        ("raw", "must be a YAML mapping")])
def test_bad_vars_text_is_bad_input(text, says):
    with pytest.raises(BadInput, match=says):
        parse_vars(text)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_command_that_parses_refuses_bad_vars_in_one_line(command, project, capsys):
    code = main([*command, "--vars", "{raw_schema: ", "--project-dir", str(project),
                 "--profiles-dir", str(project)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("refill: error: --vars is not valid YAML"), err
    assert not (project / "target").exists() and not (project / ".refill").exists()  # nothing written


def test_refill_vars_win_over_the_users_and_both_reach_dbt(project):
    session = DbtSession(project, cli_vars={"raw_schema": "raw", "start_month": "2020-01-01"})
    args = session.common_args("run", {"start_month": "2026-04-01", "end_month": "2026-04-01"})
    passed = json.loads(args[args.index("--vars") + 1])
    assert passed == {"raw_schema": "raw", "start_month": "2026-04-01", "end_month": "2026-04-01"}
    assert json.loads(session.common_args("ls")[-1]) == {"raw_schema": "raw", "start_month": "2020-01-01"}


def test_the_parse_cache_is_keyed_by_the_users_vars_too(project):
    plain = DbtSession(project)
    assert DbtSession(project, cli_vars={"raw_schema": "a"}).parse_cache_dir(None) != plain.parse_cache_dir(None)
    assert (DbtSession(project, cli_vars={"raw_schema": "a"}).parse_cache_dir({"start_month": "2026-04-01"})
            == DbtSession(project, cli_vars={"raw_schema": "a"}).parse_cache_dir({"start_month": "2026-04-01"}))


def test_settings_read_the_users_vars_over_dbt_project_yml(project):
    assert resolve_settings(project).prices_model == "from_project"
    assert resolve_settings(project, cli_vars={"prices_model": "from_cli"}).prices_model == "from_cli"


def test_run_help_names_the_merge(capsys):
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--vars YAML" in text and "refill's win on a conflict" in text


def test_refills_own_run_vars_given_by_the_user_are_ignored_out_loud(capsys):
    import argparse

    from refill.cli import _cli_vars

    kept = _cli_vars(argparse.Namespace(vars="{raw_schema: raw, start_month: 2020-01-01, incremental_end_date: x}"))
    assert kept == {"raw_schema": "raw"}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--vars start_month, incremental_end_date: refill sets these itself" in err
