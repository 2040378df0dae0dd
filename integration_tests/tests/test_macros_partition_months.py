"""Which partitions hold a month (issue #12, kind 2): derived from the partition key, for
every date type and time zone a dbt-on-ClickHouse project partitions by.

system.parts' min_date/min_time are only filled for a plain Date / DateTime key column
(1970-01-01 for Date32, Nullable(Date) or a UInt32 epoch) and are shown in the server's
time zone (a Tokyo month starts on the previous UTC day). One project holds one model per
(column type, partition key) cell; it is built once, and a refill of March through
refill_swap, a backup and a restore of March are each compared with a from-scratch build.
"""

from __future__ import annotations

import datetime as dt

import pytest

from macro_project import MacroProject

pytestmark = pytest.mark.engine

MARCH = "2026-03-01"
FIRST, LAST = "2026-02-01", "2026-04-01"

# column type name -> the column's value for a calendar day `day` (a Date); every cell's
# rows are one per (day, k), and the day's month is the row's month in the column's zone
COLUMNS = {
    "date": "toDate(day)",
    "date32": "toDate32(day)",
    "nullable_date": "CAST(day AS Nullable(Date))",
    "datetime_utc": "toDateTime(day, 'UTC')",
    "datetime_tokyo": "toDateTime(day, 'Asia/Tokyo')",
    "datetime64_tokyo": "toDateTime64(day, 3, 'Asia/Tokyo')",
    "epoch_uint32": "toUInt32(toDateTime(day))",
}
KEYS = {"start_of_month": "toStartOfMonth({c})", "yyyymm": "toYYYYMM({c})"}
# partitions finer than a month belong to their month; a tuple key's month element decides
FINER = {"date__daily": ("date", "date"), "datetime_tokyo__daily": ("datetime_tokyo", "toDate(date)"),
         "date32__yyyymmdd": ("date32", "toYYYYMMDD(date)"), "date__with_key": ("date", "(toYYYYMM(date), k)")}
# keys with no partition that is exactly a month (or finer): refused, never guessed
REFUSED = {"by_year": "toYear(date)", "by_quarter": "toStartOfQuarter(date)", "by_week": "toMonday(date)",
           "by_month_of_year": "toMonth(date)", "by_interval": "toStartOfInterval(date, toIntervalMonth(1))",
           "unpartitioned": "tuple()"}


def _key(column: str, key: str) -> str:
    c = "toDateTime(date)" if column == "epoch_uint32" else "date"
    return KEYS[key].format(c=c)


def cell_model(column: str, key: str, partition_by: str | None = None) -> str:
    # Feb 24 .. Apr 9, two keys a day: both month boundaries are inside the data
    return f"""
{{{{ config(materialized='refill_swap', engine='ReplacingMergeTree()', order_by='(k, date)',
          partition_by="{partition_by or _key(column, key)}", settings={{'allow_nullable_key': 1}}) }}}}
SELECT {COLUMNS[column]} AS date, k,
       toInt64(v * if(toStartOfMonth(day) = toDate('{{{{ var('changed_month', '1970-01-01') }}}}'), {{{{ var('factor', 1) }}}}, 1)) AS v
FROM (
    SELECT addDays(toDate('2026-02-24'), intDiv(number, 2)) AS day, toInt64(number % 2) AS k, toInt64(number) AS v
    FROM numbers(2 * 45)
)
WHERE toStartOfMonth(day) BETWEEN toDate('{{{{ var('start_month') }}}}') AND toDate('{{{{ var('end_month', var('start_month')) }}}}')
"""


CELLS = [f"{column}__{key}" for column in COLUMNS for key in KEYS] + list(FINER)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    project = MacroProject(tmp_path_factory.mktemp("partition-months"),
                           targets={"fresh": {"schema": "macro_tests_fresh"}},
                           project_config={"dispatch": [{"macro_namespace": "refill",
                                                         "search_order": ["refill_macro_tests", "refill"]}]})
    for column in COLUMNS:
        for key in KEYS:
            project.model(f"{column}__{key}", cell_model(column, key))
    for name, (column, partition_by) in FINER.items():
        project.model(name, cell_model(column, "", partition_by))
    for name, partition_by in REFUSED.items():
        project.model(name, cell_model("date", "", partition_by))
    # a project override that finds too few partitions (what min_date did for Date32)
    project.write("macros/lose_partitions.sql", """
        {% macro default__month_partitions_query(database, tables, partitions) %}
          {%- if var('lose_partitions', false) -%}
            {{ return("SELECT '' AS table_name, toDate('1970-01-01') AS month, '' AS partition_id, 0 AS rows WHERE 0") }}
          {%- endif -%}
          {{ return(refill.default__month_partitions_query(database, tables, partitions)) }}
        {% endmacro %}
    """)
    project.parse({"start_month": FIRST})
    project.warehouse.execute("CREATE DATABASE IF NOT EXISTS macro_tests_fresh")
    project.dbt("run", vars={"start_month": FIRST, "end_month": LAST}, reuse=True)  # the history
    yield project
    project.close()


def rows(project: MacroProject, schema: str, table: str, month: str | None = None) -> list[tuple]:
    """Physical rows (no FINAL: a duplicate counts), in a stable order, dates as text."""
    where = f" WHERE toStartOfMonth(toDate(day)) = toDate('{month}')" if month else ""
    return project.warehouse.rows(
        f"SELECT * FROM (SELECT toString(date) AS day_text, k, v,"
        f" {'toDateTime(date)' if table.startswith('epoch') else 'date'} AS day FROM `{schema}`.`{table}`)"
        f"{where} ORDER BY day_text, k, v")


def differing(project: MacroProject, expected: dict[str, list], schema: str = "macro_tests",
              suffix: str = "") -> dict[str, str]:
    found = {}
    for cell in CELLS:
        actual = [r[:3] for r in rows(project, schema, cell + suffix)]
        if actual != [r[:3] for r in expected[cell]]:
            found[cell] = f"{len(actual)} rows, expected {len(expected[cell])}"
    return found


def test_refill_backup_and_restore_of_a_month_equal_the_fresh_build_for_every_date_type_and_key(matrix):
    history = {cell: rows(matrix, "macro_tests", cell) for cell in CELLS}
    march = {cell: rows(matrix, "macro_tests", cell, MARCH) for cell in CELLS}
    assert all(len(history[c]) == 90 and len(march[c]) == 62 for c in CELLS)

    # backup: the twin holds exactly March, one monthly partition per table
    matrix.operation("refill.backup_partitions",
                     {"database": "macro_tests", "tables": CELLS, "partitions": [MARCH], "suffix": "m"})
    failures = {"backup": differing(matrix, march, suffix="__refill_backup_m")}

    # the refill of March (x10) equals a from-scratch build of the same vars
    changed = {"changed_month": MARCH, "factor": 10}
    matrix.dbt("run", "--select", *CELLS, vars={"start_month": MARCH, **changed}, reuse=True)
    matrix.dbt("run", "--target", "fresh", "--select", *CELLS, vars={"start_month": FIRST, "end_month": LAST, **changed})
    fresh = {cell: rows(matrix, "macro_tests_fresh", cell) for cell in CELLS}
    assert all(fresh[c] != history[c] for c in CELLS)
    failures["refill"] = differing(matrix, fresh)

    # restore puts the history back, row for row
    matrix.operation("refill.restore_partitions",
                     {"database": "macro_tests", "tables": CELLS, "partitions": [MARCH], "suffix": "m"})
    failures["restore"] = differing(matrix, history)
    assert failures == {"backup": {}, "refill": {}, "restore": {}}, \
        "; ".join(f"{stage}: {', '.join(sorted(cells))}" for stage, cells in failures.items())


def test_keys_with_no_month_partition_are_listed_and_refused_by_every_month_operation(matrix):
    tables = sorted(REFUSED) + ["date__daily", "date__with_key", "epoch_uint32__yyyymm", "not_built_yet"]
    listed = matrix.show(f"{{{{ refill.partitioning_problems_query('macro_tests', {tables}) }}}}")
    assert {row["table_name"] for row in listed} == set(REFUSED)
    by_table = {row["table_name"]: row for row in listed}
    assert "coarser than a month" in by_table["by_year"]["problem"]
    assert "coarser than a month" in by_table["by_month_of_year"]["problem"]
    assert "straddles two months" in by_table["by_week"]["problem"]
    assert "not partitioned" in by_table["unpartitioned"]["problem"]

    from refill.run.phases.preflight import check_partitioning

    problems = check_partitioning(matrix.session, matrix.manifest, "macro_tests", {"by_year", "date__daily"})
    assert [(p.kind, p.model, int(p.exit_code)) for p in problems] == [("partitioning", "by_year", 5)]
    assert problems[0].one_line().startswith("partitioning: by_year: partitioned by (toYear(date)): toYear(date) is coarser")

    before = rows(matrix, "macro_tests", "by_year")
    swap = matrix.dbt("run", "--select", "by_year", vars={"start_month": MARCH, "changed_month": MARCH, "factor": 10},
                      reuse=True, check=False)
    assert not swap.success and "`macro_tests`.`by_year` is partitioned by (toYear(date)): toYear(date) is coarser than a month" in swap.text
    backup = matrix.operation("refill.backup_partitions", {"database": "macro_tests", "tables": ["by_week"],
                                                           "partitions": [MARCH], "suffix": "w"}, check=False)
    assert not backup.success and "is a week" in backup.text
    assert rows(matrix, "macro_tests", "by_year") == before
    assert matrix.warehouse.scalar("SELECT count() FROM system.tables WHERE database = 'macro_tests'"
                                   " AND name = 'by_week__refill_backup_w'") == 0


def test_a_month_found_in_too_few_partitions_fails_the_swap_the_backup_and_the_restore(matrix):
    table = "date32__start_of_month"
    before = rows(matrix, "macro_tests", table)
    lost = {"lose_partitions": True}

    swap = matrix.dbt("run", "--select", table, vars={"start_month": MARCH, "changed_month": MARCH, "factor": 7, **lost},
                      reuse=True, check=False)
    assert not swap.success
    assert "staged 62 row(s) for `macro_tests`.`date32__start_of_month` but none in a partition of months 2026-03-01" in swap.text
    assert rows(matrix, "macro_tests", table) == before

    backup = matrix.dbt("run-operation", "refill.backup_partitions", "--args",
                        f'{{"database": "macro_tests", "tables": ["{table}"], "partitions": ["{MARCH}"], "suffix": "lost"}}',
                        vars=lost, reuse=True, check=False)
    assert not backup.success
    assert (f"`macro_tests`.`{table}` holds 62 row(s) of months 2026-03-01 outside the partitions found for them"
            " (none); nothing was backed up") in backup.text

    matrix.operation("refill.backup_partitions",
                     {"database": "macro_tests", "tables": [table], "partitions": [MARCH], "suffix": "kept"})
    restore = matrix.dbt("run-operation", "refill.restore_partitions", "--args",
                         f'{{"database": "macro_tests", "tables": ["{table}"], "partitions": ["{MARCH}"], "suffix": "kept"}}',
                         vars=lost, reuse=True, check=False)
    assert not restore.success and "nothing was restored" in restore.text
    assert rows(matrix, "macro_tests", table) == before


# (system.tables.partition_key, DESCRIBE types of its elements) -> (element, kind, grain) or a problem
RULES = [
    ("toStartOfMonth(date)", ["Date"], (0, "date", "month")),
    ("(toStartOfMonth(date))", ["Date32"], (0, "date", "month")),
    ("((toYYYYMM(date), chain))", ["UInt32", "String"], (0, "yyyymm", "month")),
    ("(chain, toYYYYMM(toDateTime(ts, 'Asia/Tokyo')))", ["LowCardinality(String)", "UInt32"], (1, "yyyymm", "month")),
    ("toYYYYMMDD(date)", ["UInt32"], (0, "yyyymmdd", "day")),
    ("date", ["Nullable(Date)"], (0, "date", "day")),
    ("toStartOfDay(ts)", ["DateTime('Asia/Tokyo')"], (0, "date", "day")),
    ("(`odd, name`, toDate(ts))", ["String", "Date"], (1, "date", "day")),
    ("(toYear(date), toYYYYMM(date))", ["UInt16", "UInt32"], (1, "yyyymm", "month")),
    ("tuple()", [], "not partitioned"),
    ("", [], "not partitioned"),
    ("toYear(date)", ["UInt16"], "toYear(date) is coarser than a month"),
    ("toStartOfQuarter(date)", ["Date"], "coarser than a month"),
    ("toMonth(date)", ["UInt8"], "coarser than a month"),
    ("toMonday(date)", ["Date"], "a week partition straddles two months"),
    ("epoch", ["UInt32"], "no element is a month"),
    ("intDiv(epoch, 86400)", ["UInt32"], "no element is a month"),
    ("toStartOfInterval(date, toIntervalMonth(1))", ["Date"], "no element is a month"),
    ("(toYYYYMM(a), toYYYYMM(b))", ["UInt32", "UInt32"], "more than one element"),
]


def test_a_partition_key_names_its_month_element_or_why_it_cannot(matrix):
    split = "-- case --"
    inline = f"\n{split}\n".join(
        f"{{{{ tojson(refill._partition_month_rule(refill._split_partition_key({key!r}), {types!r})) }}}}"
        for key, types, _ in RULES)
    import json

    rendered = [json.loads(text) for text in matrix.compile_inline(inline).split(split)]
    for (key, _, expected), rule in zip(RULES, rendered):
        if isinstance(expected, tuple):
            assert (rule["element"], rule["kind"], rule["grain"], rule["problem"]) == (*expected, None), key
        else:
            assert expected in rule["problem"], key


def test_a_partition_value_reads_as_its_month(matrix):
    values = {"toDateTime('2026-04-01 00:00:00', 'Asia/Tokyo')": "date", "toDate32('1969-12-31')": "date",
              "CAST(NULL, 'Nullable(Date)')": "date", "toUInt32(202604)": "yyyymm", "toUInt32(20260430)": "yyyymmdd"}
    sql = ", ".join(f"{{{{ refill._month_of_sql({value!r}, {kind!r}) }}}} AS m{i}" for i, (value, kind) in enumerate(values.items()))
    (row,) = matrix.show(f"SELECT {sql}")
    assert list(row.values()) == [dt.date(2026, 4, 1), dt.date(1969, 12, 1), None, dt.date(2026, 4, 1), dt.date(2026, 4, 1)]
