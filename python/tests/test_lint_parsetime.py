"""Whether a manifest parsed without the month vars can serve the month rewrite: the lint's
config evaluation under the daily and the month vars, compared (refill.lint.parsetime)."""

from __future__ import annotations

from pathlib import Path

import pytest

from refill.lint.files import select_files
from refill.lint.parsetime import month_dependent_models

STRATEGY = "('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert')"
CONTRACT = (f"incremental_strategy={STRATEGY}, engine='ReplacingMergeTree()', order_by='(date, k)', "
            "partition_by='toStartOfMonth(date)', tags=['refill_append'], "
            "pre_hook=\"{{ refill.refill_safe_pre_hook() }}\", post_hook=\"{{ refill.refill_safe_post_hook() }}\"")
BODY = ("SELECT date, k FROM {{ ref('src') }}\n"
        "{% if var('start_month', none) %}WHERE toStartOfMonth(date) >= toDate('{{ var('start_month') }}')"
        " AND toStartOfMonth(date) <= toDate('{{ var('end_month') }}'){% endif %}\n")


def dependence(tmp_path: Path, config: str, body: str = BODY, macros: str = ""):
    (tmp_path / "dbt_project.yml").write_text("name: t\nprofile: t\n")
    (tmp_path / "macros").mkdir(exist_ok=True)
    (tmp_path / "macros" / "m.sql").write_text(macros)
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "m.sql").write_text(f"{{{{ config({config}) }}}}\n{body}")
    models = select_files([str(tmp_path / "models" / "m.sql")]).models
    return month_dependent_models(models, tag="refill_append")


def test_the_contract_strategy_alone_does_not_need_a_month_parse(tmp_path):
    # RF001 makes the strategy follow start_month; refill_swap never reads it
    assert dependence(tmp_path, CONTRACT) == []


def test_an_insert_overwrite_model_dropping_its_unique_key_for_the_month_needs_no_month_parse(tmp_path):
    # the lab's shape: dbt-clickhouse's insert_overwrite takes no unique_key
    key = "unique_key=(none if var('start_month', none) else '(date, k)')"
    assert dependence(tmp_path, f"{CONTRACT}, {key}") == []


@pytest.mark.parametrize("extra, key", [
    ("engine=('ReplacingMergeTree()' if var('start_month', none) else 'MergeTree()')", "engine"),
    ("query_settings=({'max_threads': 2} if var('end_month', none) else {})", "query_settings"),
    ("settings={'index_granularity': 1024 if var('start_month', none) else 8192}", "settings"),
])
def test_a_config_that_follows_a_month_var_needs_the_month_parse(tmp_path, extra, key):
    config = CONTRACT.replace("engine='ReplacingMergeTree()', ", "") if key == "engine" else CONTRACT
    (found,) = dependence(tmp_path, f"{config}, {extra}")
    assert found.model == "m" and key in found.keys
    assert key in found.reason and "start_month/end_month" in found.reason


def test_a_helper_macro_that_reads_the_month_var_counts_too(tmp_path):
    macros = "{% macro order() %}{{ return('(date, k)' if var('start_month', none) else '(k, date)') }}{% endmacro %}"
    (found,) = dependence(tmp_path, CONTRACT.replace("order_by='(date, k)'", "order_by=order()"), macros=macros)
    assert found.keys == ("order_by",)


def test_a_body_that_reads_the_strategy_needs_the_month_parse(tmp_path):
    body = BODY + "{% if config.get('incremental_strategy') == 'append' %}SETTINGS max_threads = 1{% endif %}\n"
    (found,) = dependence(tmp_path, CONTRACT, body)
    assert "incremental_strategy" in found.keys and "the body reads it" in found.reason


def test_a_config_that_cannot_be_evaluated_is_the_safe_answer(tmp_path):
    (found,) = dependence(tmp_path, CONTRACT.replace("order_by='(date, k)'", "order_by=no_such_macro()"))
    assert "not evaluable" in found.reason


def test_models_outside_the_cohort_are_not_asked(tmp_path):
    config = CONTRACT.replace("tags=['refill_append']", "tags=['daily']")
    assert dependence(tmp_path, f"{config}, engine=('A' if var('start_month', none) else 'B')") == []
