"""What `refill init` proposes comes from the project: a prices model it has (or none, said
out loud), a canary on columns its cohort really has, and true words about its own macros."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from refill.commands.adopt import InitOptions, propose_init

REALISTIC = Path(__file__).parent / "fixtures" / "lint" / "realistic"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "ledger"
    shutil.copytree(REALISTIC, root)
    text = (root / "dbt_project.yml").read_text().replace("vars:\n  prices_model: stg_prices\n", "")
    (root / "dbt_project.yml").write_text(text)
    return root


def planned(project: Path, **options):
    changes, warnings, _ = propose_init(InitOptions(project_dir=project, package=str(REPO), **options))
    [project_file] = [c for c in changes if c.path.name == "dbt_project.yml"]
    return project_file, warnings


def test_the_seeds_prices_model_is_not_written_into_a_project_without_it(project):
    change, warnings = planned(project)
    declared = yaml.safe_load(change.text)["vars"]
    assert "prices_model" not in declared
    assert "int_execution_token_prices_daily" not in change.text.replace("no model int_execution", "")
    assert "# prices_model: <your prices model>" in change.text and "candidates: stg_prices" in change.text
    [said] = [w for w in warnings if w.startswith("prices_model is left for you")]
    assert "candidates from its graph (most read first): stg_prices" in said


def test_an_explicit_prices_model_is_written(project):
    change, warnings = planned(project, prices_model="stg_prices")
    assert yaml.safe_load(change.text)["vars"]["prices_model"] == "stg_prices"
    assert not [w for w in warnings if w.startswith("prices_model")]


def test_the_canary_example_names_a_cohort_model_and_columns_it_has(project):
    change, _ = planned(project)
    example = yaml.safe_load("\n".join(
        line.strip()[2:] for line in change.text.splitlines() if line.strip().startswith("#   ") or
        line.strip().startswith("#     ")))
    [entry] = example
    assert entry["model"] in {"fct_pool_fees_daily", "bad_pool_fees_one_branch_unfiltered"}
    assert (entry["date_column"], entry["value_column"]) == ("date", "fees_usd")
    assert set(entry["group_by"]) <= {"venue", "pool", "symbol"}
    assert "int_execution_tokens_supply_holders_daily" not in change.text and "supply_usd" not in change.text


def test_the_message_about_project_owned_macros_is_true_and_does_not_advise_deleting_them(project):
    _, warnings = planned(project)
    owned = [w for w in warnings if "defines" in w]
    assert len(owned) == 3
    assert all("satisfies refill's contract" in w and "delete" not in w for w in owned)
