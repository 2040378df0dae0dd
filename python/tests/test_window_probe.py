"""The plan's window check compiles the incremental consumers once with a probe value of
``price_lookback_days`` and reads which SQL holds it (``lineage_scan.follows_probe``): only a
model that does not show it is compiled a second time. Pure text logic: the compiles are
engine-tested (test_lineage_shapes, test_refill_run)."""

from __future__ import annotations

from refill.lineage.lineage_scan import WINDOW_PROBE_DAYS, follows_probe

PROBE = WINDOW_PROBE_DAYS
RAW = "SELECT * FROM t WHERE 1 = 1 {{ refill.apply_monthly_incremental_filter('t.day', 'date', true) }}"


def test_the_package_filter_and_a_bare_var_show_the_probe():
    # the package's filter renders the lookback less one; a hand-written window the var itself
    assert follows_probe(f"SELECT * FROM t WHERE 1 = 1 AND toDate(t.day) >= subtractDays(toDate('2026-04-27'),"
                         f" {PROBE - 1})", RAW)
    assert follows_probe(f"SELECT * FROM t WHERE day >= today() - {PROBE}", "… {{ var('price_lookback_days') }}")


def test_a_window_of_its_own_or_a_computed_date_does_not():
    assert not follows_probe("SELECT * FROM t WHERE day >= subtractDays(today(), 3)", RAW)
    assert not follows_probe("SELECT * FROM t WHERE day >= toDate('2014-02-12')", RAW)
    assert not follows_probe("SELECT * FROM t", RAW)


def test_the_probe_inside_another_number_or_written_in_the_source_is_no_evidence():
    for compiled in (f"SELECT quantile(0.{PROBE})(x) FROM t", f"SELECT 1{PROBE} FROM t", f"SELECT x{PROBE} FROM t",
                     f"SELECT {PROBE}.5 FROM t"):
        assert not follows_probe(compiled, RAW), compiled
    # the number is in the model's own source: the compile would hold it whatever the var
    assert not follows_probe(f"SELECT * FROM t WHERE id > {PROBE}", f"SELECT * FROM t WHERE id > {PROBE}")
