"""The audit's pure parts: keys, the day column, overrides, and the one-line renderings."""

from __future__ import annotations

import pytest

from refill.errors import BadInput
from refill.lineage.audit import MonthAudit, ModelAuditSpec, audit_var, day_column, key_expressions, price_overrides
from refill.lineage.price_lineage import PriceDependence


@pytest.mark.parametrize("unique_key, sorting_key, expected", [
    ("(date, token_address, bucket)", "", ["date", "token_address", "bucket"]),
    ("date, token", "", ["date", "token"]),
    (["date", "user"], "", ["date", "user"]),
    ("date", "", ["date"]),
    (None, "date, token_address", ["date", "token_address"]),
    (None, "toDate(ts), id", ["TODATE(ts)", "id"]),
    (None, "tuple()", []),
])
def test_key_is_the_unique_key_else_the_order_by(unique_key, sorting_key, expected):
    assert [k.upper() for k in key_expressions(unique_key, sorting_key)] == [e.upper() for e in expected]


def test_days_come_from_the_column_the_partition_key_reads():
    assert day_column("toStartOfMonth(block_date)", "date") == "block_date"
    assert day_column("toYYYYMM(price_date)", "date") == "price_date"
    assert day_column("", "date") == "date"


def test_price_overrides_must_map_models_to_column_lists():
    assert price_overrides({"refill_price_columns": {"m": ["a_usd"]}}) == {"m": ["a_usd"]}
    with pytest.raises(BadInput):
        price_overrides({"refill_price_columns": {"m": "a_usd"}})


def test_a_key_is_price_derived_when_one_of_its_columns_is():
    dependence = PriceDependence(columns=frozenset({"bucket", "balance_usd"}))
    assert ModelAuditSpec(("date", "bucket"), "date", dependence).key_price_derived
    assert not ModelAuditSpec(("date", "token"), "date", dependence).key_price_derived
    var = audit_var("abc", [], {"m": ModelAuditSpec(("date",), "date", dependence)})
    assert var["models"]["m"]["price_columns"] == ["balance_usd", "bucket"]


def test_summary_line_gives_rows_keys_and_changed_columns():
    audit = MonthAudit("m", "2026-04-01", "published", 10, 9, 2, 1, ("v_usd",), (),
                       {"columns": [{"name": "v_usd", "changed": 4}]})
    assert audit.summary_line() == "m  2026-04-01  rows 10→9 (-1)  keys -2/+1  columns changed: v_usd(4)  published"
    assert MonthAudit.from_dict(audit.as_dict()) == audit
