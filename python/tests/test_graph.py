"""Cohort layering and phase sets over a dependency graph, without dbt."""

from __future__ import annotations

import pytest

from refill.dbt.graph import Node, ProjectGraph, Relation, by_database

TAG = "refill_append"


def graph(*nodes: Node) -> ProjectGraph:
    return ProjectGraph({n.unique_id: n for n in nodes})


def model(name, *parents, materialized="incremental", cohort=False) -> Node:
    return Node(
        unique_id=f"model.p.{name}", name=name, materialized=materialized,
        tags=frozenset({TAG}) if cohort else frozenset(), parents=tuple(f"model.p.{p}" for p in parents),
    )


LAB = graph(
    model("prices", materialized="view"),
    model("balances", "prices", cohort=True),
    model("supply", "balances", cohort=True),
    model("cohorts", "balances", "supply", cohort=True),
    model("gpay_activity", "prices", cohort=True),
    model("fct_metrics", "supply", "cohorts", materialized="table"),
)


def names(g, layering):
    return [g.names(layer) for layer in layering.layers]


def test_three_layer_cohort_is_ordered_by_its_dependencies():
    layering = LAB.cohort_layers(LAB.tagged(TAG))
    assert names(LAB, layering) == [["balances", "gpay_activity"], ["supply"], ["cohorts"]]


def test_cohort_dependency_through_a_non_cohort_view_still_orders_the_layers():
    g = graph(
        model("a", cohort=True),
        model("a_enriched", "a", materialized="view"),
        model("b", "a_enriched", cohort=True),
    )
    assert names(g, g.cohort_layers(g.tagged(TAG))) == [["a"], ["b"]]
    assert g.stale_intermediates(g.tagged(TAG)) == []


@pytest.mark.parametrize("materialized", ["table", "incremental"])
def test_materialized_model_between_cohort_models_is_reported(materialized):
    g = graph(model("a", cohort=True), model("mid", "a", materialized=materialized), model("b", "mid", cohort=True))
    (stale,) = g.stale_intermediates(g.tagged(TAG))
    assert (stale.node, stale.upstream, stale.downstream) == ("model.p.mid", "model.p.a", "model.p.b")


def test_topological_order_honours_paths_through_unselected_nodes():
    assert LAB.names(LAB.topological({"model.p.fct_metrics", "model.p.balances", "model.p.cohorts"})) == [
        "balances", "cohorts", "fct_metrics"]


def test_descendants_are_transitive():
    assert LAB.names(sorted(LAB.descendants({"model.p.supply"}))) == ["cohorts", "fct_metrics"]


def test_cycle_is_reported():
    g = graph(model("a", "b"), model("b", "a"))
    with pytest.raises(ValueError, match="cycle"):
        g.topological({"model.p.a", "model.p.b"})


# -- relations ---------------------------------------------------------------------------


def test_a_models_relation_is_its_schema_and_alias():
    g = graph(
        Node("model.p.volume", "volume", schema="dbt_analytics", identifier="volume_daily"),
        Node("model.p.total", "total", schema="dbt", identifier="total"),
    )
    assert g.relations(g.nodes) == {"volume": Relation("dbt_analytics", "volume_daily"),
                                    "total": Relation("dbt", "total")}
    assert g.nodes["model.p.volume"].relation.sql == "`dbt_analytics`.`volume_daily`"
    assert g.databases() == ["dbt", "dbt_analytics"]


def test_relations_are_grouped_per_database_for_the_packages_macros():
    relations = [Relation("dbt", "b"), Relation("dbt_x", "a"), Relation("dbt", "a"), Relation("dbt", "a")]
    assert by_database(relations) == {"dbt": ["a", "b"], "dbt_x": ["a"]}
    assert Relation.from_list(Relation("dbt_x", "a").as_list()) == Relation("dbt_x", "a")


def test_materialized_models_between_prices_and_the_cohort_are_its_inputs():
    g = graph(
        model("prices", materialized="table"),
        model("prices_filled", "prices"),                        # incremental, read by the cohort
        model("prices_view", "prices_filled", materialized="view"),
        model("balances", "prices_view", cohort=True),
        model("supply_usd", "balances", "prices_filled"),          # reads the cohort: not an input
        model("totals", "supply_usd", cohort=True),
        model("consumer", "prices"),                               # not read by the cohort
    )
    cohort = g.tagged(TAG)
    assert sorted(g.names(g.cohort_inputs("model.p.prices", cohort))) == ["prices", "prices_filled"]
    # without a cohort, the prices model itself still goes first (the coverage check reads it)
    assert g.names(g.cohort_inputs("model.p.prices", set())) == ["prices"]


def test_a_view_prices_model_and_views_in_between_are_read_live():
    assert g_names(LAB.cohort_inputs("model.p.prices", LAB.tagged(TAG))) == []


def g_names(uids):
    return sorted(LAB.names(uids))


def test_preflight_refuses_a_priced_table_the_cohort_reads_only_when_phase_0_5_does_not_re_pull_it():
    from refill.run.phases.preflight import check_graph

    g = graph(model("prices", materialized="view"), model("prices_filled", "prices"),
              model("balances", "prices_filled", cohort=True))
    cohort = g.tagged(TAG)
    assert [(p.kind, p.model) for p in check_graph(g, cohort, "prices")] == [("graph", "prices_filled")]
    assert check_graph(g, cohort, "prices", repaired_first=g.cohort_inputs("model.p.prices", cohort)) == []


def test_a_materialized_view_the_cohort_reads_is_not_re_pulled_and_stays_refused():
    from refill.run.phases.preflight import check_graph

    g = graph(model("prices", materialized="view"), model("prices_mv", "prices", materialized="materialized_view"),
              model("balances", "prices_mv", cohort=True))
    cohort = g.tagged(TAG)
    assert g.cohort_inputs("model.p.prices", cohort) == set()  # dbt run does not refill an existing MV
    problems = check_graph(g, cohort, "prices", repaired_first=g.cohort_inputs("model.p.prices", cohort))
    assert [(p.kind, p.model) for p in problems] == [("graph", "prices_mv")]
