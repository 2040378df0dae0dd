"""One reader of the project's vars, one typing rule: `run` and `lint` agree on every spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from refill.dbt.settings import resolve_settings
from refill.errors import BadInput
from refill.lint.project import Project


def project_with(tmp_path: Path, var_line: str | None) -> Path:
    lines = ["name: p", "config-version: 2", "profile: p"]
    if var_line is not None:
        lines += ["vars:", f"  {var_line}"]
    (tmp_path / "dbt_project.yml").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("var_line, expected", [
    ("refill_allow_insert_overwrite: 'false'", False),   # a quoted "false" was true for `run`
    ("refill_allow_insert_overwrite: 'False'", False),
    ("refill_allow_insert_overwrite: 'no'", False),
    ("refill_allow_insert_overwrite: '0'", False),
    ("refill_allow_insert_overwrite: false", False),
    ("refill_allow_insert_overwrite: true", True),
    ("refill_allow_insert_overwrite: 'true'", True),
    ("refill_allow_insert_overwrite: 'yes'", True),
    ("refill_allow_insert_overwrite: 1", True),
    (None, False),                                       # missing
    ("other: 1", False),
])
def test_run_and_lint_read_the_opt_in_the_same_way(tmp_path, var_line, expected):
    root = project_with(tmp_path, var_line)
    assert resolve_settings(root).allow_insert_overwrite is expected
    assert Project.load(root).allows_insert_overwrite is expected


@pytest.mark.parametrize("value", ["'maybe'", "2", "[true]"])
def test_a_value_that_is_not_yes_or_no_is_bad_input_for_both(tmp_path, value):
    root = project_with(tmp_path, f"refill_allow_insert_overwrite: {value}")
    with pytest.raises(BadInput, match="refill_allow_insert_overwrite must be true or false"):
        resolve_settings(root)
    with pytest.raises(BadInput, match="refill_allow_insert_overwrite must be true or false"):
        Project.load(root).allows_insert_overwrite


def test_project_scoped_vars_override_global_ones_for_both(tmp_path):
    (tmp_path / "dbt_project.yml").write_text(
        "name: p\nconfig-version: 2\nprofile: p\nvars:\n  refill_allow_insert_overwrite: true\n"
        "  p:\n    refill_allow_insert_overwrite: 'false'\n")
    assert resolve_settings(tmp_path).allow_insert_overwrite is False
    assert Project.load(tmp_path).allows_insert_overwrite is False


@pytest.mark.parametrize("var_line, said", [
    ("refill_canaries: []", "refill_canaries is empty"),
    (None, "no refill_canaries var in the project"),
])
def test_plan_says_whether_the_canaries_are_empty_or_undeclared(tmp_path, var_line, said):
    from refill.run.phases.canary import skipped_message

    message = skipped_message(resolve_settings(project_with(tmp_path, var_line)))
    assert said in message and "Phase 1.5" in message
