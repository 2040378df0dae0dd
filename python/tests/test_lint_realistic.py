"""The contract on a project shaped like the one refill's seed came from (fixture `realistic`,
our own code): it owns the contract macros, bans delete+insert by making insert_overwrite its
default, writes six UNION ALL branches, carries a balance forward from {{ this }}, and sets
hooks in dbt_project.yml. Its good models must pass; each bad one must fail on its rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from refill.cli import main
from refill.errors import ExitCode
from refill.lint import lint_paths, lint_project

REALISTIC = Path(__file__).parent / "fixtures" / "lint" / "realistic"
GOOD = ["fct_pool_fees_daily", "int_holder_balances_daily", "int_holder_cohorts_daily", "int_transfers_microbatch"]


@pytest.fixture(scope="module")
def result():
    return lint_project(REALISTIC)


def failing(result, model: str) -> list[str]:
    return [f"{f.code} {f.message}" for f in result.findings if f.model == model and f.fails]


@pytest.mark.parametrize("model", GOOD)
def test_the_projects_good_models_pass(result, model):
    assert failing(result, model) == []


def test_project_owned_hooks_called_by_name_satisfy_rf003_in_the_model_and_in_dbt_project_yml(result):
    # (only the model that writes the settings out by hand is reported)
    assert {f.model for f in result.findings if f.code == "RF003"} == {"bad_inline_memory_hooks"}


def test_project_owned_filter_with_extra_arguments_satisfies_the_daily_clause(result):
    assert not [f for f in result.findings if "does not call apply_monthly_incremental_filter" in f.message]


def test_a_union_branch_without_the_month_filter_is_reported(result):
    [finding] = [f for f in result.findings if f.model == "bad_pool_fees_one_branch_unfiltered"]
    assert finding.line == 44  # the branch (of six reading the same ref) whose text has no month window
    assert failing(result, "bad_pool_fees_one_branch_unfiltered") == [
        "RF002 with start_month/end_month set (is_incremental() true) the query reading `stg_swaps` does not "
        "restrict `date` to the months"
    ]


def test_a_daily_append_over_a_lookback_fails(result):
    [message] = failing(result, "bad_daily_append_lookback")
    assert message.startswith("RF007 incremental_strategy is 'append' with neither start_month nor")


def test_a_daily_insert_overwrite_over_days_fails(result):
    [message] = failing(result, "bad_overwrite_day_window")
    assert message.startswith("RF006 ") and "can start inside a month" in message


def test_hints_follow_the_projects_own_strategy_and_never_bring_back_delete_insert(result):
    hints = {f.code: f.hint for f in result.findings}
    assert "RF007" in hints and "insert_overwrite" in hints["RF007"]
    assert not any("delete+insert" in f.hint for f in result.findings)


def test_a_banned_strategy_is_never_recommended(tmp_path):
    import shutil

    project = tmp_path / "p"
    shutil.copytree(REALISTIC, project)
    text = (project / "dbt_project.yml").read_text()
    text = text.replace("    +incremental_strategy: insert_overwrite\n", "")
    text = text.replace("vars:\n", "vars:\n  refill_banned_strategies: delete+insert, insert_overwrite\n")
    (project / "dbt_project.yml").write_text(text)
    findings = lint_paths([project / "models" / "bad" / "bad_daily_append_lookback.sql"]).findings
    assert findings and all("delete+insert" not in f.hint and "insert_overwrite" not in f.hint for f in findings)


def test_the_carried_forward_balance_is_reported_as_info_and_does_not_fail(result, capsys):
    [note] = [f for f in result.findings if f.code == "RF011"]
    assert (note.model, note.severity, note.line) == ("int_holder_balances_daily", "info", 33)  # FROM {{ this }}
    assert "{{ this }}" in note.message and "live table" in note.message
    code = main(["lint", str(REALISTIC / "models" / "cohort")])
    captured = capsys.readouterr()
    assert code == ExitCode.OK and " RF011 " in captured.out and "1 note(s)" in captured.err


def test_a_watermark_on_this_is_not_reading_it_as_rows(result):
    # The project's filter reads max(date) FROM {{ this }} in a WHERE: not carried-forward state.
    assert {f.model for f in result.findings if f.code == "RF011"} == {"int_holder_balances_daily"}


def test_hooks_set_nowhere_are_not_said_to_be_set_outside_the_file(tmp_path):
    model = tmp_path / "p" / "models" / "m.sql"
    model.parent.mkdir(parents=True)
    (tmp_path / "p" / "dbt_project.yml").write_text("name: p\nconfig-version: 2\nprofile: p\n")
    model.write_text("{{ config(materialized='incremental', tags=['refill_append']) }}\nSELECT 1 AS date\n")
    hooks = [f.message for f in lint_paths([model]).findings if f.code == "RF003"]
    assert hooks and not any("outside the model file" in m for m in hooks)


def test_project_contract_macros_dispatched_to_their_implementation_count(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: dp\nconfig-version: 2\nprofile: dp\n")
    (tmp_path / "macros").mkdir()
    (tmp_path / "macros" / "m.sql").write_text(
        "{% macro apply_monthly_incremental_filter(source_field, destination_field=None, add_and=False) %}"
        "{{ return(adapter.dispatch('apply_monthly_incremental_filter', 'dp')(source_field, destination_field, add_and)) }}"
        "{% endmacro %}\n"
        "{% macro default__apply_monthly_incremental_filter(source_field, destination_field, add_and) %}"
        "{% if is_incremental() %}AND toDate({{ source_field }}) >= (SELECT max(date) - 2 FROM {{ this }}){% endif %}"
        "{% endmacro %}\n"
        "{% macro refill_safe_pre_hook() %}{{ return(adapter.dispatch('refill_safe_pre_hook', 'dp')()) }}{% endmacro %}\n"
        "{% macro default__refill_safe_pre_hook() %}{{ return(['SET max_memory_usage = 1']) }}{% endmacro %}\n"
        "{% macro refill_safe_post_hook() %}{{ return(['SET max_memory_usage = 0']) }}{% endmacro %}\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.sql").write_text(
        "{{ config(materialized='incremental', incremental_strategy='delete+insert', engine='ReplacingMergeTree()', "
        "order_by='(date)', unique_key='(date)', partition_by='toStartOfMonth(date)', pre_hook=refill_safe_pre_hook(), "
        "post_hook=refill_safe_post_hook(), tags=['refill_append']) }}\n"
        "SELECT date FROM {{ ref('x') }} WHERE 1 = 1\n"
        "{% if var('start_month', none) %} AND toStartOfMonth(date) >= toDate('{{ var(\"start_month\") }}') "
        "AND toStartOfMonth(date) <= toDate('{{ var(\"end_month\") }}')\n"
        "{% else %} {{ apply_monthly_incremental_filter('date', 'date', true) }} {% endif %}\n")
    result = lint_project(tmp_path)
    assert (result.models_checked, result.findings) == (1, [])


def test_memory_settings_written_out_by_hand_are_a_warning_on_each_hook(result):
    findings = [f for f in result.findings if f.model == "bad_inline_memory_hooks"]
    assert [(f.code, f.line, f.is_error) for f in findings] == [("RF003", 10, False), ("RF003", 15, False)]
    assert [f.message for f in findings] == [
        "pre_hook inlines `SET max_memory_usage = 9000000000` instead of calling refill_safe_pre_hook()",
        "post_hook inlines `SET max_memory_usage = 0` instead of calling refill_safe_post_hook()",
    ]


def test_a_disabled_tagged_model_is_neither_linted_nor_counted(result):
    # dbt does not build it (nor list it among the project's nodes): manifest mode never sees it.
    assert not [f for f in result.findings if f.model == "disabled_cohort_draft"]
    on_disk = len(list(REALISTIC.glob("models/**/*.sql")))
    assert result.models_seen == on_disk - 1
