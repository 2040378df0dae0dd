"""Each rule on the fixture project (files mode): passing spellings stay quiet, failing ones
are reported once, at the offending line, by the rule that owns the failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from refill.lint import RULES, lint_paths, lint_project
from refill.lint.finding import ERROR, INFO, WARNING

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
PROJECT = FIXTURES / "project"
BROKEN = FIXTURES / "broken"
LAB = Path(__file__).resolve().parents[2] / "integration_tests"

# model -> the (code, line) findings it must produce; every other tagged model is clean.
EXPECTED = {
    "wrong_branch": {("RF001", 4)},
    "insert_overwrite_day_window": {("RF006", 22)},
    "daily_append_lookback": {("RF007", 21)},
    "inlined_hooks": {("RF003", 9), ("RF003", 10)},
    "plain_mergetree": {("RF004", 5)},
    "daily_partition": {("RF005", 7)},
    "table_materialized": {("RF008", 3)},
    "order_by_not_grain": {("RF009", 6)},
    "narrow_window": {("RF002", 18)},
    "append_without_window": {("RF002", 15)},
    "no_lookback_macro": {("RF002", 17)},
    "folder_tagged_no_hooks": {("RF003", 3)},
}
CLEAN = [
    "daily_insert_overwrite", "seed_exact", "prefixed_macros", "nested_conditional", "helper_macro", "set_variable",
    "folder_tagged", "noqa_file", "noqa_line",
]


@pytest.fixture(scope="module")
def fixture_result():
    return lint_project(PROJECT)


def by_model(result) -> dict[str, set[tuple[str, int]]]:
    found: dict[str, set[tuple[str, int]]] = {}
    for finding in result.findings:
        found.setdefault(finding.model, set()).add((finding.code, finding.line))
    return found


def messages(result, model: str) -> list[str]:
    return [f"{f.code} {f.message}" for f in result.findings if f.model == model]


def test_each_failing_fixture_reports_exactly_its_rule_at_its_line(fixture_result):
    assert by_model(fixture_result) == EXPECTED


@pytest.mark.parametrize("model", CLEAN)
def test_equivalent_spellings_of_the_contract_pass(fixture_result, model):
    assert messages(fixture_result, model) == []


def test_only_tagged_models_are_checked(fixture_result):
    assert fixture_result.models_checked == len(EXPECTED) + len(CLEAN)
    assert "untagged_anything_goes" not in by_model(fixture_result)


def test_the_seeds_exact_three_branch_expression_with_unprefixed_macros_passes():
    result = lint_paths([PROJECT / "models" / "good" / "seed_exact.sql"])
    assert result.models_checked == 1 and result.findings == []


def test_a_daily_strategy_refill_cannot_check_names_the_runs_that_use_it(fixture_result):
    assert messages(fixture_result, "wrong_branch") == [
        "RF001 incremental_strategy is 'legacy' with neither start_month nor incremental_end_date set; "
        "'legacy' with incremental_end_date set, not one of delete+insert, insert_overwrite, append"
    ]


def test_a_daily_insert_overwrite_over_whole_months_passes_without_any_opt_in(fixture_result):
    assert messages(fixture_result, "daily_insert_overwrite") == []


def test_a_daily_insert_overwrite_over_days_replaces_months_with_slices(fixture_result):
    [message] = messages(fixture_result, "insert_overwrite_day_window")
    assert message.startswith("RF006 incremental_strategy is 'insert_overwrite' with neither start_month nor")
    assert "subtractDays(max(date), 2)" in message and "can start inside a month" in message


def test_the_opt_in_var_vouches_for_insert_overwrite_windows():
    model = PROJECT / "models" / "bad" / "insert_overwrite_day_window.sql"
    assert lint_paths([model]).findings and lint_paths([model], allow_insert_overwrite=True).findings == []


def test_a_daily_append_over_a_lookback_duplicates_the_overlap(fixture_result):
    [message] = messages(fixture_result, "daily_append_lookback")
    assert message.startswith("RF007 incremental_strategy is 'append' with neither start_month nor")
    assert "appends the days it shares with the table again" in message


def test_hooks_inlined_as_set_statements_are_called_out(fixture_result):
    assert messages(fixture_result, "inlined_hooks") == [
        "RF003 pre_hook inlines `SET max_memory_usage = 8589934592, max_…` instead of calling refill_safe_pre_hook()",
        "RF003 post_hook inlines `SET max_memory_usage = 0` instead of calling refill_safe_post_hook()",
    ]


def test_tags_and_strategy_from_dbt_project_yml_bring_a_model_into_the_cohort(fixture_result):
    assert messages(fixture_result, "folder_tagged") == []
    assert messages(fixture_result, "folder_tagged_no_hooks") == [
        "RF003 pre_hook does not call refill_safe_pre_hook()",
    ]


def test_a_window_missing_the_end_month_is_reported_with_the_days_it_covers(fixture_result):
    assert messages(fixture_result, "narrow_window") == [
        "RF002 with start_month=2026-03-01, end_month=2026-04-01 (is_incremental() true) `date` is restricted to "
        "[2026-03-01, 2026-03-31], not the months [2026-03-01, 2026-04-30]"
    ]


def test_a_refill_without_a_month_filter_is_reported_whatever_the_strategy(fixture_result):
    [message] = messages(fixture_result, "append_without_window")
    assert message.startswith("RF002 ") and "`balances` does not restrict `date`" in message and "day lookback" in message


def test_a_daily_branch_without_the_lookback_macro(fixture_result):
    assert messages(fixture_result, "no_lookback_macro") == [
        "RF002 without start_month/end_month the incremental run does not call apply_monthly_incremental_filter"
    ]


@pytest.mark.parametrize("model, message", [
    ("plain_mergetree", "RF004 engine 'MergeTree()' is not a ReplacingMergeTree"),
    ("daily_partition", "RF005 partition_by 'toYYYYMMDD(date)' is not the month of the date column"),
    ("table_materialized", "RF008 materialized is 'table' in every run, not 'incremental'"),
    ("order_by_not_grain", "RF009 order_by (date, token_address, supply) is not unique_key (date, token_address)"),
])
def test_table_shape_rules(fixture_result, model, message):
    assert messages(fixture_result, model) == [message]


def test_noqa_on_the_line_and_on_line_one_suppress(fixture_result):
    assert fixture_result.suppressed == 2  # noqa_line's RF002 and noqa_file's RF004


def test_findings_carry_location_model_severity_and_hint(fixture_result):
    finding = next(f for f in fixture_result.findings if f.model == "wrong_branch")
    assert finding.path.endswith("models/bad/wrong_branch.sql") and (finding.line, finding.col) == (4, 5)
    assert finding.severity == ERROR and "insert_overwrite" in finding.hint
    assert {f.severity for f in fixture_result.findings if f.code in {"RF003", "RF009"}} == {WARNING}


def test_the_lab_lints_clean_including_its_insert_overwrite_model():
    result = lint_project(LAB)
    # clean: only the RF011 notes of the two models that carry state forward from {{ this }}
    assert sorted((f.code, f.model, f.severity) for f in result.findings) == [
        ("RF011", "int_execution_gpay_volume_cumulative_daily", "info"),
        ("RF011", "int_execution_gpay_wallet_balances_daily", "info")]
    assert result.models_checked == 6


# -- models the linter cannot evaluate --------------------------------------------------

@pytest.fixture(scope="module")
def broken_result():
    return lint_project(BROKEN)


def test_each_unrenderable_model_is_reported_with_its_line_and_the_run_goes_on(broken_result):
    rf000 = {(f.model, f.line, f.col) for f in broken_result.findings if f.code == "RF000"}
    assert rf000 == {
        ("unknown_macro", 15, 1),      # the call to the unknown macro
        ("unclosed_if", 5, 1),         # where Jinja ran out of template
        ("unshimmed_hook", 9, 5),      # pre_hook=refill_safe_pre_hook() without shims
        ("compiler_error", 3, 1),      # exceptions.raise_compiler_error
        ("computed_tags", 1, 1),       # tags we cannot compute: cannot tell if it is in the cohort
    }


def test_an_unprefixed_macro_without_shims_is_undefined_as_in_dbt(broken_result):
    [finding] = [f for f in broken_result.findings if f.model == "unshimmed_hook"]
    assert finding.message.startswith("cannot evaluate config pre_hook: 'refill_safe_pre_hook' is undefined")
    assert "python -m refill init" in finding.hint


def test_what_can_be_evaluated_still_is(broken_result):
    codes = {f.code for f in broken_result.findings if f.model == "compiler_error"}
    assert {"RF000", "RF004", "RF005", "RF007"} <= codes


def test_an_untagged_model_is_parsed_no_further_than_its_config_call(broken_result):
    # Both would fail further down; neither carries the tag, so neither is read that far.
    assert {"untagged_broken", "untagged_syntax_error"}.isdisjoint({f.model for f in broken_result.findings})


def test_every_rule_is_documented():
    codes = [rule.code for rule in RULES]
    assert codes == sorted(set(codes)) and codes[0] == "RF000"
    for rule in RULES:
        assert rule.message and rule.hint and rule.doc() and rule.severity in {ERROR, WARNING, INFO}
        assert "\n" not in rule.message


def test_the_readme_table_documents_every_rule_with_its_severity():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## The refill contract (lint)", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| RF")]
    assert [(cells[1].strip(), cells[2].strip()) for cells in rows] == [(r.code, r.severity) for r in RULES]
