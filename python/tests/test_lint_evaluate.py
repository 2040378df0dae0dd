"""Config arguments evaluated with Jinja's own evaluator under every var combination, the
lazy config scan, the dbt-like render context and noqa parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from refill.lint.environment import make_environment
from refill.lint.evaluate import Evaluator
from refill.lint.files import select_files
from refill.lint.finding import Finding
from refill.lint.noqa import Suppressions
from refill.lint.scan import ConfigScanner
from refill.lint.scenario import COMBINATIONS, MONTH_SCENARIOS

SEED = "('append' if (var('start_month', none) or var('incremental_end_date', none)) else 'delete+insert')"
RIGHT = ("delete+insert", "append", "append", "append")  # COMBINATIONS: none, start_month, end_date, both


def evaluate(tmp_path: Path, model_sql: str, *, macros: str = "", project_vars: str = ""):
    (tmp_path / "dbt_project.yml").write_text(f"name: t\nprofile: t\nvars: {{{project_vars}}}\n")
    (tmp_path / "macros").mkdir(exist_ok=True)
    (tmp_path / "macros" / "m.sql").write_text(macros)
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "m.sql").write_text(model_sql)
    [model] = select_files([str(tmp_path / "models" / "m.sql")]).models
    evaluator = Evaluator(model.project)
    return evaluator.facts(model, evaluator.scan(model), allow_insert_overwrite=False)


def strategies(facts) -> tuple:
    return tuple(facts.value("incremental_strategy", c) for c in COMBINATIONS)


@pytest.mark.parametrize("prelude, expression", [
    ("", SEED),
    ("", "'append' if var('start_month', none) else ('append' if var('incremental_end_date', none) else 'delete+insert')"),
    ("", "'delete+insert' if not (var('start_month', none) or var('incremental_end_date', none)) else 'append'"),
    ("", "['delete+insert', 'append'][(var('start_month', none) or var('incremental_end_date', none)) is not none]"),
    ("{% set refilling = var('start_month', none) or var('incremental_end_date', none) %}",
     "'append' if refilling else 'delete+insert'"),
    ("{% macro pick() -%}{{ 'append' if var('start_month', none) or var('incremental_end_date', none) "
     "else 'delete+insert' }}{%- endmacro %}", "pick()"),  # an inline macro's output is its value
])
def test_equivalent_strategy_spellings_evaluate_the_same(tmp_path, prelude, expression):
    facts = evaluate(tmp_path, f"{prelude}\n{{{{ config(incremental_strategy={expression}) }}}}\nSELECT 1 AS date\n")
    assert strategies(facts) == RIGHT


def test_a_project_macro_dispatched_like_a_package_macro(tmp_path):
    macros = (
        "{% macro strategy() %}{{ return(adapter.dispatch('strategy', 't')()) }}{% endmacro %}\n"
        f"{{% macro default__strategy() %}}{{{{ return({SEED}) }}}}{{% endmacro %}}\n"
    )
    facts = evaluate(tmp_path, "{{ config(incremental_strategy=strategy()) }}\nSELECT 1 AS date\n", macros=macros)
    assert strategies(facts) == RIGHT


@pytest.mark.parametrize("expression, values", [
    ("'append' if var('start_month', none) else 'delete+insert'", ("delete+insert", "append", "delete+insert", "append")),
    ("'insert_overwrite'", ("insert_overwrite",) * 4),
    ("'append' if var('end_month', none) else 'delete+insert'", ("delete+insert", "append", "delete+insert", "append")),
])
def test_wrong_spellings_evaluate_to_their_wrong_branches(tmp_path, expression, values):
    assert strategies(evaluate(tmp_path, f"{{{{ config(incremental_strategy={expression}) }}}}\nSELECT 1\n")) == values


def test_project_vars_are_the_fallback_of_var(tmp_path):
    facts = evaluate(tmp_path, "{{ config(engine=var('cohort_engine')) }}\nSELECT 1\n",
                     project_vars="cohort_engine: ReplacingMergeTree()")
    assert facts.value("engine", COMBINATIONS[0]) == "ReplacingMergeTree()"


def test_a_missing_required_var_fails_like_dbt(tmp_path):
    facts = evaluate(tmp_path, "{{ config(\n  engine=var('cohort_engine'),\n) }}\nSELECT 1\n")
    assert [(f.message, f.line, f.col) for f in facts.failures] == [
        ("cannot evaluate config engine: Required var 'cohort_engine' not found in config", 2, 3)
    ]


def test_the_body_renders_with_dbt_like_context(tmp_path):
    facts = evaluate(tmp_path, (
        "{{ config(materialized='incremental') }}\n"
        "SELECT {{ dbt_utils.star(ref('x')) }}, '{{ target.schema }}' AS s FROM {{ ref('pkg', 'x') }} "
        "JOIN {{ source('raw', 'y') }} USING (id) WHERE {{ is_incremental() }} AND '{{ this }}' != ''\n"
        "{% if execute %}{{ run_query('SELECT 1').columns[0] }}{% endif %}"
    ))
    render = facts.renders[MONTH_SCENARIOS[0]]
    assert render.failure is None
    assert render.sql.strip() == (
        "SELECT NULL, 'lint' AS s FROM `lint`.`x` JOIN `raw`.`y` USING (id) WHERE True AND '`lint`.`m`' != ''"
    )


def test_the_scan_stops_at_the_first_config_call():
    scanner = ConfigScanner(make_environment(), "{% set a = 1 %}{{ config(tags=['x']) }} SELECT {% if %}", "m.sql")
    scanner.until_first_call()
    assert not scanner.complete and list(scanner.config.arguments) == ["tags"]
    assert [type(node).__name__ for node in scanner.prelude] == ["Assign"]


def test_noqa_on_a_line_or_on_line_one():
    source = "{# noqa: RF004 #}\nSELECT 1 -- noqa: RF002, RF007\nSELECT 2 -- noqa\nSELECT 3\n"
    suppressions = Suppressions.from_source(source)
    def at(code: str, line: int) -> bool:
        return suppressions.silences(Finding(path="m.sql", line=line, col=1, code=code, message="", model="m"))
    assert at("RF004", 9) and at("RF002", 2) and at("RF007", 2) and at("RF001", 3)
    assert not at("RF002", 4) and not at("RF001", 2)


def test_refill_swap_counts_as_incremental_only_where_start_month_is_set(tmp_path):
    from refill.lint.rules import Incremental

    swap_on_month = "{{ config(materialized=('refill_swap' if var('start_month', none) else 'incremental')) }}\nSELECT 1\n"
    assert list(Incremental().check(evaluate(tmp_path, swap_on_month))) == []
    swap_on_end_date = swap_on_month.replace("'start_month'", "'incremental_end_date'")
    [finding] = Incremental().check(evaluate(tmp_path, swap_on_end_date))
    assert "is 'refill_swap' with incremental_end_date set, not 'incremental'" in finding.message
