"""The plan from a project graph: which model each phase touches, in what order, what is backed
up, and what is refused before dbt is asked anything (refill.run.plan, pure: no dbt, no engine)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from refill.dbt.graph import Node, ProjectGraph, Relation
from refill.dbt.settings import Settings
from refill.errors import BadInput
from refill.run.plan import Repairs, Scope, build_plan, cohort_scope, lineage_selector, make_window, repull_scope
from refill.run.repull import RunSpec, lookback_specs

WINDOW = make_window(from_date=dt.date(2026, 3, 30), today=dt.date(2026, 4, 3))
SETTINGS = Settings(prices_model="prices", tag="refill_append", date_column="date", allow_insert_overwrite=False)


def node(name, *parents, materialized="table", cohort=False, schema="dbt"):
    return Node(f"model.p.{name}", name, materialized=materialized, schema=schema,
                tags=frozenset({"refill_append"} if cohort else ()), parents=tuple(f"model.p.{p}" for p in parents))


def project(*, prices="table", extra=()) -> ProjectGraph:
    """raw → prices → stg_prices (read by the cohort) → balances → balances_usd (the cohort, two
    layers); consumer reads prices only; mart reads the cohort; a view between is read live."""
    nodes = [
        node("raw", materialized="incremental"),
        node("prices", "raw", materialized=prices),
        node("stg_prices", "prices", materialized="incremental"),
        node("balances", "stg_prices", materialized="incremental", cohort=True),
        node("balances_view", "balances", materialized="view"),
        node("balances_usd", "balances_view", "prices", materialized="incremental", cohort=True),
        node("consumer", "prices", materialized="incremental", schema="dbt_api"),
        node("mart", "balances_usd", "consumer"),
        node("mart_of_cohort", "balances_usd"),
        *extra,
    ]
    return ProjectGraph({n.unique_id: n for n in nodes})


def scope_of(graph, *, selected=("stg_prices", "consumer", "mart"), skip_cohort=False, select=None) -> Scope:
    scope = cohort_scope(graph, SETTINGS, skip_cohort=skip_cohort)
    return repull_scope(graph, scope, selected, select=select, tag=SETTINGS.tag)


def plan_of(graph, scope, repairs=None, **options):
    base = lookback_specs(WINDOW.today, WINDOW.lookback_days, [])
    repairs = repairs or Repairs(specs={graph.nodes[uid].name: base for uid in scope.repulled})
    return build_plan(graph, scope, WINDOW, SETTINGS, repairs, project_dir="/p", schema="dbt", target="prod",
                      lineage_selector=lineage_selector(SETTINGS, None), **options)


def test_each_model_lands_in_one_phase_in_run_order():
    graph = project()
    plan = plan_of(graph, scope_of(graph))
    assert plan.input_models == ("prices", "stg_prices")  # what the cohort reads, re-pulled before Phase 1
    assert plan.cohort_layers == (("balances",), ("balances_usd",))  # through the view: a layer later
    assert plan.lineage_models == ("consumer", "mart")  # selected, minus Phase 0.5's
    assert plan.downstream_models == ("balances_view", "mart_of_cohort")  # the cohort's other descendants
    assert [r.models for r in plan.input_runs] == [("prices", "stg_prices")]
    assert plan.prices_upstream == ("raw",)  # not re-pulled: the coverage check names it
    assert plan.prices_relation == ("dbt", "prices")
    assert plan.relations["consumer"] == Relation("dbt_api", "consumer")
    assert set(plan.relations) == {"prices", "stg_prices", "balances", "balances_view", "balances_usd", "consumer",
                                   "mart", "mart_of_cohort"}


def test_without_phase_2_every_descendant_of_the_cohort_is_rebuilt_in_phase_3():
    graph = project()
    plan = plan_of(graph, scope_of(graph, selected=None), skip_lineage=True)
    assert plan.lineage_models == ()
    assert plan.downstream_models == ("balances_view", "mart", "mart_of_cohort")


def test_without_the_cohort_rewrite_only_the_prices_model_is_re_pulled_first():
    graph = project()
    plan = plan_of(graph, scope_of(graph, skip_cohort=True), skip_cohort=True)
    assert plan.input_models == ("prices",)  # the price-coverage check still reads it
    assert "stg_prices" in plan.lineage_models
    assert plan.as_dict()["phase1_layers"] == []


def test_an_ephemeral_prices_model_has_no_relation_to_check():
    graph = project(prices="ephemeral")
    assert plan_of(graph, scope_of(graph)).prices_relation is None


@pytest.mark.parametrize("settings, skip_cohort, message", [
    (Settings("nope", "refill_append", "date", False), False, "prices model 'nope' is not a model"),
    (Settings("prices", "refill_append", "date", False, full_refresh=("ghost",)), False,
     "refill_full_refresh names ghost"),
    (Settings("prices", "untagged", "date", False), False, "no model is tagged 'untagged'"),
])
def test_names_that_match_nothing_are_refused_before_dbt_is_asked(settings, skip_cohort, message):
    with pytest.raises(BadInput, match=message):
        cohort_scope(project(), settings, skip_cohort=skip_cohort)


def test_an_empty_cohort_is_fine_when_the_rewrite_is_skipped():
    scope = cohort_scope(project(), Settings("prices", "untagged", "date", False), skip_cohort=True)
    assert scope.cohort == frozenset() and scope.inputs == frozenset({"model.p.prices"})


def test_a_select_that_matches_nothing_is_refused():
    graph = project()
    with pytest.raises(BadInput, match="--select nothing_here matches no model outside tag:refill_append"):
        scope_of(graph, selected=[], select="nothing_here")


def test_only_a_materialized_view_target_that_reads_the_cohort_is_backed_up():
    extra = (node("on_cohort", "balances_usd", materialized="materialized_view"),
             node("on_consumer", "consumer", materialized="materialized_view"))
    graph = project(extra=extra)
    scope = scope_of(graph, selected=("consumer", "on_consumer", "mart"))
    base = lookback_specs(WINDOW.today, WINDOW.lookback_days, [])
    rewrite = (RunSpec((("start_month", "2026-03-01"), ("end_month", "2026-04-01")), mv_rewrite=True),)
    specs = {graph.nodes[uid].name: base for uid in scope.repulled} | {"on_cohort": rewrite, "on_consumer": rewrite}
    plan = plan_of(graph, scope, Repairs(specs=specs))
    assert plan.mv_targets == ("on_consumer", "on_cohort")  # run order
    assert plan.mv_backups == ("on_cohort",)  # the other is re-derivable like the models it reads
    assert plan.mv_months == WINDOW.repull_months == (dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert plan_of(graph, scope_of(graph, selected=("consumer", "on_consumer", "mart"), skip_cohort=True),
                   Repairs(specs=specs), skip_cohort=True).mv_backups == ()


def test_the_refused_models_and_mechanisms_come_through_and_leave_the_run_id_alone():
    from refill.errors import PreflightProblem

    graph = project()
    scope = scope_of(graph)
    plain = plan_of(graph, scope)
    refused = PreflightProblem("lineage", "consumer", "its incremental window ignores price_lookback_days")
    specs = {graph.nodes[uid].name: lookback_specs(WINDOW.today, WINDOW.lookback_days, [])
                           for uid in scope.repulled}
    flagged = plan_of(graph, scope, Repairs(specs=specs, mechanisms={"consumer": "cannot repair"}, refused=[refused]))
    assert flagged.refused == (refused,) and dict(flagged.mechanisms) == {"consumer": "cannot repair"}
    assert flagged.run_id == plain.run_id  # a resumed run finds its journal whatever the windows' cuts
    later = build_plan(graph, scope, make_window(from_date=dt.date(2026, 3, 31), today=dt.date(2026, 4, 3)),
                       SETTINGS, Repairs(specs=specs), project_dir="/p", schema="dbt", target="prod",
                       lineage_selector=lineage_selector(SETTINGS, None))
    assert later.run_id != plain.run_id


def test_the_repull_days_end_today_and_span_the_lookback():
    days = WINDOW.repull_days
    assert len(days) == WINDOW.lookback_days and days[-1] == WINDOW.today
    assert days[0] == WINDOW.from_date - dt.timedelta(days=WINDOW.buffer_days)


def test_the_plan_module_loads_without_dbt_or_the_engine():
    code = ("import sys, refill.run.plan; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'dbt', 'chdb', 'clickhouse_connect', 'sqlglot'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
