"""The package macros whose rows are read elsewhere (issue #17): each is dispatched, so a
project may override it; Python and the package's own macros read their columns by name,
the names read are pinned here against what the package returns, and an override that
reorders them is read right while one that drops a column is refused by name. Also pins
the one definition of a leftover table (`_leftover_kind_sql`, `_leftover_model_sql`) that
cleanup, the finish phase and the views share."""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import PROJECT, MacroProject
from refill.dbt.settings import Canary
from refill.errors import StepFailed
from refill.run.checks import DUPLICATE_KEYS_COLUMNS
from refill.run.phases import canary
from refill.run.phases.finish import LEFTOVER_COLUMNS
from refill.run.phases.preflight import PARTITIONING_COLUMNS

pytestmark = [pytest.mark.engine]

# what the package's month operations (swap, backup, restore, OPTIMIZE, the duplicate scan)
# read of month_partitions_query, by name
MONTH_PARTITIONS_COLUMNS = ("table_name", "month", "partition_id")
DOUBLED = Canary(model="shapes.doubled", date_column="date", value_column="usd", group_by=("token",))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(
        tmp_path_factory.mktemp("shapes"), schema="shapes",
        project_config={"dispatch": [{"macro_namespace": "refill", "search_order": [PROJECT, "refill"]}]})
    w = project.warehouse
    w.execute("CREATE TABLE shapes.doubled (date Date, token String, usd Float64) "
              "ENGINE = ReplacingMergeTree ORDER BY (date, token) PARTITION BY toStartOfMonth(date)")
    w.execute("INSERT INTO shapes.doubled SELECT addDays(toDate('2026-03-20'), number), 'GNO', "
              "if(addDays(toDate('2026-03-20'), number) >= '2026-04-01', 200, 100) FROM numbers(20)")
    w.execute("CREATE TABLE shapes.by_year (date Date, k Int64) ENGINE = MergeTree ORDER BY k PARTITION BY toYear(date)")
    w.execute("INSERT INTO shapes.by_year VALUES ('2026-04-02', 1)")
    # rows for every pinned query: dbt returns an empty result without its columns
    w.execute("CREATE TABLE shapes.dups (date Date, k Int64) "
              "ENGINE = ReplacingMergeTree ORDER BY k PARTITION BY toStartOfMonth(date)")
    w.execute("SYSTEM STOP MERGES shapes.dups")
    for _ in range(2):
        w.execute("INSERT INTO shapes.dups VALUES ('2026-04-02', 1)")
    w.execute("CREATE TABLE shapes.dups__dbt_tmp AS shapes.dups")
    project.parse()
    yield project
    project.close()


def columns(project, sql: str) -> list[str]:
    result = project.dbt("show", "--inline", sql, "--limit", "-1", reuse=True).result
    return list(result.result.results[0].agate_table.column_names)


@pytest.mark.parametrize("call, needed", [
    ("canary_query('shapes.doubled', 'date', 'usd', ['token'], '2026-04-01', '2026-04-08')", canary.COLUMNS),
    ("partitioning_problems_query('shapes', ['by_year'])", PARTITIONING_COLUMNS),
    ("duplicate_keys_query('shapes', ['dups'], ['2026-04-01'])", DUPLICATE_KEYS_COLUMNS),
    ("orphan_tables_query('shapes')", LEFTOVER_COLUMNS),
    ("month_partitions_query('shapes', ['doubled'], ['2026-04-01'])", MONTH_PARTITIONS_COLUMNS),
], ids=lambda v: v.split("(")[0] if isinstance(v, str) else "")
def test_the_package_returns_every_column_python_reads(project, call, needed):
    returned = columns(project, f"{{{{ refill.{call} }}}}")
    assert returned and set(needed) <= set(returned)



@pytest.fixture
def canary_reordered(project):
    """The project overrides canary_query with its columns in another order."""
    project.write("macros/canary_reordered.sql", """
        {% macro default__canary_query(model, date_column, value_column, group_by, start_date, end_date, threshold, zero_is_anomaly, where) %}
          {{ return('SELECT reason, ratio, value, previous, day, entity FROM ('
                    ~ refill.default__canary_query(model, date_column, value_column, group_by, start_date, end_date,
                                                   threshold, zero_is_anomaly, where) ~ ')') }}
        {% endmacro %}
    """)
    try:
        project.parse()
        yield project
    finally:
        (project.project_dir / "macros" / "canary_reordered.sql").unlink()
        project.parse()


def test_an_override_that_reorders_the_canarys_columns_is_read_by_name(canary_reordered):
    project = canary_reordered
    (violation,) = canary.scan(project.session, project.manifest, DOUBLED, dt.date(2026, 4, 1), dt.date(2026, 4, 8))
    assert (violation.entity, violation.day, violation.previous, violation.value, violation.ratio) == (
        "GNO", dt.date(2026, 4, 1), 100, 200, 2)
    assert violation.reason == "ratio above 1.5"


def test_the_canary_operation_reads_a_reordered_override_by_name(canary_reordered):
    """The package's own reader of canary_query (the `refill.canary` operation) reads by
    name too: by position it formatted the day as the ratio and failed on an override."""
    result = canary_reordered.operation("refill.canary", {
        "model": "shapes.doubled", "date_column": "date", "value_column": "usd", "group_by": ["token"],
        "start_date": "2026-04-01", "end_date": "2026-04-08"}, check=False)
    assert not result.success
    assert "  GNO | 2026-04-01 | 100.0 | 200.0 | 2.0000 | ratio above 1.5" in result.text.splitlines(), result.text
    assert "refill canary failed: shapes.doubled.usd (1 day(s))" in result.text


def test_every_month_operation_reads_a_reordered_month_partitions_override_by_name(project):
    """backup, restore, OPTIMIZE, the duplicate scan and the swap all read which partitions
    hold a month from month_partitions_query, a dispatched macro: by name, so an override
    that orders its columns otherwise moves the same partitions."""
    project.write("macros/partitions_reordered.sql", """
        {% macro default__month_partitions_query(database, tables, partitions) %}
          {{ return('SELECT rows, partition_id, month, table_name FROM ('
                    ~ refill.default__month_partitions_query(database, tables, partitions) ~ ')') }}
        {% endmacro %}
        {% macro swap_by_name(database, target_table, staging_table, month) %}
          {%- set target_relation = api.Relation.create(schema=database, identifier=target_table, type='table') -%}
          {%- set staging_relation = api.Relation.create(schema=database, identifier=staging_table, type='table') -%}
          {%- do log('swapped ' ~ refill.swap_months(staging_relation, target_relation, month, month) ~ ' partition(s)', info=true) -%}
        {% endmacro %}
    """)
    april = {"database": "shapes", "tables": ["doubled"], "partitions": ["2026-04-01"]}
    w = project.warehouse
    try:
        project.parse()
        before = w.rows("SELECT * FROM shapes.doubled ORDER BY date")
        project.operation("refill.backup_partitions", {**april, "suffix": "reordered"})
        assert w.scalar("SELECT count() FROM shapes.doubled__refill_backup_reordered") == 8
        project.operation("refill.optimize_partitions_final", april)
        duplicates = project.show("{{ refill.duplicate_keys_query('shapes', ['dups'], ['2026-04-01']) }}")
        assert [(r["table_name"], r["rows"], r["keys"]) for r in duplicates] == [("dups", 2, 1)]

        w.execute("CREATE TABLE shapes.doubled__stage AS shapes.doubled")
        w.execute("INSERT INTO shapes.doubled__stage SELECT date, token, usd / 2 FROM shapes.doubled WHERE date >= '2026-04-01'")
        swapped = project.operation("swap_by_name", {"database": "shapes", "target_table": "doubled",
                                                     "staging_table": "doubled__stage", "month": "2026-04-01"})
        assert "swapped 1 partition(s)" in swapped.text
        assert w.scalar("SELECT uniqExact(usd) FROM shapes.doubled") == 1

        project.operation("refill.restore_partitions", {**april, "suffix": "reordered"})
        assert w.rows("SELECT * FROM shapes.doubled ORDER BY date") == before
    finally:
        (project.project_dir / "macros" / "partitions_reordered.sql").unlink()
        for name in ("doubled__stage", "doubled__refill_backup_reordered"):
            w.execute(f"DROP TABLE IF EXISTS shapes.{name} SYNC")
        project.parse()


def test_an_override_that_drops_a_column_is_refused_by_name(project):
    project.write("macros/canary_short.sql", """
        {% macro default__canary_query(model, date_column, value_column, group_by, start_date, end_date, threshold, zero_is_anomaly, where) %}
          {{ return('SELECT entity, day, value FROM ('
                    ~ refill.default__canary_query(model, date_column, value_column, group_by, start_date, end_date,
                                                   threshold, zero_is_anomaly, where) ~ ')') }}
        {% endmacro %}
    """)
    try:
        project.parse()
        with pytest.raises(StepFailed, match=r"refill.canary_query returned columns \(entity, day, value\) "
                                             r"without previous, ratio, reason"):
            canary.scan(project.session, project.manifest, DOUBLED, dt.date(2026, 4, 1), dt.date(2026, 4, 8))
    finally:
        (project.project_dir / "macros" / "canary_short.sql").unlink()
        project.parse()


LEFTOVER_NAMES = {
    # name: (kind, the table it belongs to)
    "fct_a__dbt_tmp": ("dbt_tmp", "fct_a"),
    "fct_a__dbt_view_tmp": ("dbt_tmp", "fct_a"),
    "int_b__dbt_new_data_1a2b_3c": ("dbt_new_data", "int_b"),
    "int_b__dbt_distributed_new_data": ("dbt_new_data", "int_b"),
    "int_b__dbt_backup": ("dbt_backup", "int_b"),
    "int_b__refill_stage": ("refill_stage", "int_b"),
    # a model whose own name holds a marker owns its leftovers
    "fct_a__dbt_tmp_x__dbt_backup": ("dbt_backup", "fct_a__dbt_tmp_x"),
    "int_b": ("", ""),
    "int_b__refill_stage_old": ("", ""),
    "fct_a__dbt_tmp_old": ("", ""),
    "t__refill_backup_run1": ("", ""),  # named like a backup, but no marker: not refill's
}


def test_a_leftover_is_known_by_its_name_and_belongs_to_the_table_before_its_last_marker(project):
    names = ", ".join(f"'{name}'" for name in LEFTOVER_NAMES)
    rows = project.show(
        "SELECT name, kind, if(kind = '', '', {{ refill._leftover_model_sql('kind') }}) AS owner FROM ("
        "SELECT name, comment, {{ refill._leftover_kind_sql() }} AS kind FROM ("
        f"SELECT arrayJoin([{names}]) AS name, '' AS comment))")
    assert {r["name"]: (r["kind"], r["owner"]) for r in rows} == LEFTOVER_NAMES
