"""The pure parts of detect, cleanup and init: which days are missing, which orphan may go,
how a user's YAML is extended. No engine, no dbt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from refill.commands.adopt import InitOptions, _append_to_block, package_entry, propose_init, shims_text
from refill.commands.cleanup import Decision, Orphan, Protection, decide, parse_duration
from refill.commands.detect import repair_command
from refill.errors import BadInput
from refill.run.price_coverage import entity_columns, missing_days

D = dt.date
APRIL = [D(2026, 4, d) for d in range(1, 31)]


def days(first: int, last: int, *skip: int) -> set[dt.date]:
    return {D(2026, 4, d) for d in range(first, last + 1) if d not in skip}


# -- detect --------------------------------------------------------------------------------


PRICE_COLUMNS = {"date": "Date", "token": "LowCardinality(String)", "chain": "String", "price": "Float64"}


def test_the_price_entity_is_the_var_then_a_canary_then_the_unique_key_then_the_string_columns():
    assert entity_columns(PRICE_COLUMNS, "date", declared=("token",), canary_group_by=("chain",))[0] == ("token",)
    assert entity_columns(PRICE_COLUMNS, "date", canary_group_by=("chain",), unique_key=("date", "token"))[0] \
        == ("chain",)
    assert entity_columns(PRICE_COLUMNS, "date", unique_key=("date", "token")) == \
        (("token",), "the prices model's unique_key")
    assert entity_columns(PRICE_COLUMNS, "date")[0] == ("token", "chain")
    # before the run (the plan) the columns are not known yet
    assert entity_columns(None, "date") == ((), "the prices model's string columns")


def test_a_price_entity_that_is_not_a_column_is_bad_input():
    with pytest.raises(BadInput, match="refill_price_entity: symbol not a column"):
        entity_columns(PRICE_COLUMNS, "date", declared=("symbol",))
    with pytest.raises(BadInput, match="set var refill_price_entity"):
        entity_columns({"date": "Date", "price": "Float64"}, "date")


def test_an_interior_gap_is_missing_for_every_entity_that_lacks_it():
    priced = {"GNO": (D(2026, 1, 1), days(1, 27, 17)), "WETH": (D(2026, 1, 1), days(1, 27, 17, 20))}
    assert missing_days(priced, D(2026, 4, 1), D(2026, 4, 27)) == {
        D(2026, 4, 17): ["GNO", "WETH"], D(2026, 4, 20): ["WETH"]}


def test_a_silent_feed_at_the_end_is_missing_for_everyone():
    priced = {"GNO": (D(2026, 1, 1), days(1, 25)), "WETH": (D(2026, 1, 1), days(1, 25))}
    assert missing_days(priced, D(2026, 4, 1), D(2026, 4, 27)) == {
        D(2026, 4, 26): ["GNO", "WETH"], D(2026, 4, 27): ["GNO", "WETH"]}


def test_an_entity_that_stops_while_the_feed_goes_on_is_not_flagged():
    """It may be delisted; if it was a gap, the zero-USD check finds the damage after the backfill."""
    priced = {"GNO": (D(2026, 1, 1), days(1, 27)), "OLD": (D(2026, 1, 1), days(1, 10))}
    assert missing_days(priced, D(2026, 4, 1), D(2026, 4, 27)) == {}


def test_an_entity_listed_inside_the_window_is_expected_from_its_first_price():
    priced = {"GNO": (D(2026, 1, 1), days(1, 27)), "NEW": (D(2026, 4, 15), days(15, 27, 16))}
    assert missing_days(priced, D(2026, 4, 1), D(2026, 4, 27)) == {D(2026, 4, 16): ["NEW"]}


def test_the_repair_command_repeats_the_target_flags_as_typed():
    assert repair_command(D(2026, 4, 17), D(2026, 4, 27), ("--project-dir", "my project", "--target", "prod")) == (
        "python -m refill run --from-date 2026-04-17 --today 2026-04-27 --project-dir 'my project' --target prod")


# -- cleanup -------------------------------------------------------------------------------


def orphan(kind: str = "dbt_tmp", age: int = 100_000, run_id: str = "", marked: bool = True,
           owned: bool = True) -> Orphan:
    return Orphan(f"t__{kind}", kind, run_id, marked, age, 1, database="db", owned=owned)


DAY = Protection(older_than=dt.timedelta(days=1))


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "-1h", "1w", "1 hour"])
def test_a_bad_duration_is_bad_input(text):
    with pytest.raises(BadInput, match="--older-than must be a duration"):
        parse_duration(text)


def test_young_tables_are_kept_whatever_they_are():
    assert not decide(orphan(age=3600), DAY).drop


def test_old_dbt_leftovers_are_dropped():
    assert decide(orphan("dbt_new_data"), DAY) == Decision(orphan("dbt_new_data"), True, "dbt_new_data, 1.2d old")


@pytest.mark.parametrize("kind", ["dbt_backup", "dbt_tmp", "dbt_new_data", "refill_stage"])
def test_leftovers_no_model_of_the_project_owns_are_kept(kind):
    kept = decide(orphan(kind, owned=False), Protection(older_than=dt.timedelta(0)))
    assert not kept.drop and kept.reason == "no model of this project owns it"


def test_staging_tables_are_kept_while_a_refill_runs():
    running = Protection(older_than=dt.timedelta(0), running_run="abc")
    assert not decide(orphan("refill_stage"), running).drop
    assert decide(orphan("refill_stage"), DAY).drop


def test_backups_rollback_needs_are_kept():
    protection = Protection(older_than=dt.timedelta(0), running_run="run", pending_runs=frozenset({"pend"}),
                            known_runs=frozenset({"run", "pend", "done"}))
    assert not decide(orphan("refill_backup", run_id="run"), protection).drop
    kept = decide(orphan("refill_backup", run_id="pend"), protection)
    assert not kept.drop and "python -m refill rollback --run pend" in kept.reason
    assert decide(orphan("refill_backup", run_id="done"), protection).drop
    assert not decide(orphan("refill_backup", run_id="done", marked=False), protection).drop


def test_backups_of_runs_unknown_here_are_kept_unless_asked():
    protection = Protection(older_than=dt.timedelta(0))
    assert not decide(orphan("refill_backup", run_id="elsewhere"), protection).drop
    assert decide(orphan("refill_backup", run_id="elsewhere"),
                  Protection(older_than=dt.timedelta(0), drop_unjournaled_backups=True)).drop


# -- init ----------------------------------------------------------------------------------


def test_a_block_is_extended_below_its_last_entry_keeping_comments():
    text = "name: p\n# vars of p\nvars:\n    a: 1   # why a\n    nested:\n        b: 2\n\n# models\nmodels: {}\n"
    new = _append_to_block(text, "vars", lambda indent: f"{indent}c: 3\n", sequence=False, path=Path("x"),
                           force=False)
    assert new == ("name: p\n# vars of p\nvars:\n    a: 1   # why a\n    nested:\n        b: 2\n    c: 3\n"
                   "\n# models\nmodels: {}\n")


def test_a_sequence_at_column_zero_is_extended_at_column_zero():
    text = "packages:\n- package: dbt-labs/dbt_utils\n  version: 1.1.1\n"
    new = _append_to_block(text, "packages", lambda indent: f"{indent}- local: ../refill\n", sequence=True,
                           path=Path("x"), force=False)
    assert yaml.safe_load(new)["packages"] == [{"package": "dbt-labs/dbt_utils", "version": "1.1.1"},
                                               {"local": "../refill"}]


def test_a_flow_style_block_is_refused_with_what_to_add():
    with pytest.raises(BadInput, match="written inline"):
        _append_to_block("vars: {a: 1}\n", "vars", lambda indent: f"{indent}b: 2\n", sequence=False,
                         path=Path("x"), force=False)


def test_the_package_entry_is_a_path_relative_to_the_project_or_a_git_url(tmp_path):
    options = InitOptions(project_dir=tmp_path)
    entry = package_entry(options, tmp_path)
    assert (tmp_path / entry["local"] / "dbt_project.yml").is_file()
    git = package_entry(InitOptions(project_dir=tmp_path, package="https://github.com/acme/refill.git",
                                    revision="v0.1.0"), tmp_path)
    assert git == {"git": "https://github.com/acme/refill.git", "revision": "v0.1.0"}
    with pytest.raises(BadInput, match="no dbt package named refill"):
        package_entry(InitOptions(project_dir=tmp_path, package=str(tmp_path)), tmp_path)


def test_init_refuses_bad_names_before_reading_anything(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    with pytest.raises(BadInput, match="--tag"):
        propose_init(InitOptions(project_dir=tmp_path, tag="refill append"))
    with pytest.raises(BadInput, match="no dbt_project.yml"):
        propose_init(InitOptions(project_dir=tmp_path / "nowhere"))


def test_the_labs_shims_are_what_init_writes():
    lab = Path(__file__).resolve().parents[2] / "integration_tests" / "macros" / "refill_shims.sql"
    assert lab.read_text() == shims_text()


def test_a_feed_within_its_expected_lag_is_not_missing_and_one_behind_it_is():
    """A daily feed lands a day late: on --today nothing has arrived for today yet."""
    priced = {"GNO": (D(2026, 1, 1), days(1, 26)), "WETH": (D(2026, 1, 1), days(1, 26))}
    assert missing_days(priced, D(2026, 4, 1), D(2026, 4, 27), lag_days=1) == {}
    assert missing_days(priced, D(2026, 4, 1), D(2026, 4, 27), lag_days=0) == {D(2026, 4, 27): ["GNO", "WETH"]}
    assert missing_days(priced, D(2026, 4, 1), D(2026, 4, 28), lag_days=1) == {D(2026, 4, 27): ["GNO", "WETH"]}
