"""The benchmark's pure parts: the generated project's shape, interval arithmetic, medians."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

# The harness lives beside the package, not in it: benchmarks/ is its import root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from refill.dbt.graph import Node, ProjectGraph  # noqa: E402
from refill.run.phases.preflight import check_graph  # noqa: E402
from refill_bench import project  # noqa: E402
from refill_bench.config import ProjectShape  # noqa: E402
from refill_bench.measure import union_length  # noqa: E402
from refill_bench.summary import median_run  # noqa: E402

_REF = re.compile(r"ref\('([a-z0-9_]+)'\)")


def as_graph(generated: project.GeneratedProject) -> ProjectGraph:
    """The dbt graph the generated SQL declares, built from its ref() calls."""
    def uid(name: str) -> str:
        return f"{'seed' if name == 'bench_tokens' else 'model'}.refill_bench.{name}"

    nodes = {uid("bench_tokens"): Node(uid("bench_tokens"), "bench_tokens", resource_type="seed", materialized="seed")}
    for m in generated.models:
        tags = frozenset({"refill_append"}) if m.folder == "cohort" else frozenset()
        parents = tuple(sorted({uid(p) for p in _REF.findall(m.sql)}))
        nodes[uid(m.name)] = Node(uid(m.name), m.name, materialized=m.materialized, tags=tags, parents=parents)
    return ProjectGraph(nodes)


@pytest.mark.parametrize("models", [100, 300, 1000])
def test_generated_project_has_the_requested_number_of_models(models):
    generated = project.generate(ProjectShape(models=models))
    assert len(generated.models) == models
    assert len({m.name for m in generated.models}) == models


def test_default_project_is_shaped_like_the_seed():
    generated = project.generate(ProjectShape())
    kinds = {m.materialized for m in generated.models if m.folder.startswith("consumers")}
    assert len(generated.models) >= 300
    assert len(generated.cohort) == 12
    assert kinds == {"view", "incremental", "table"}
    assert any("apply_monthly_incremental_filter" in m.sql for m in generated.models if m.folder.startswith("consumers"))
    assert generated.names("marts") and all(n.startswith("fct_") for n in generated.names("marts"))
    assert generated.names("api") and all(n.startswith("api_") for n in generated.names("api"))


def test_default_cohort_has_three_layers_and_passes_refills_graph_checks():
    generated = project.generate(ProjectShape())
    graph = as_graph(generated)
    cohort = graph.tagged("refill_append")
    layers = [graph.names(layer) for layer in graph.cohort_layers(cohort).layers]
    assert len(layers) == 3
    assert "int_execution_tokens_balances_daily" in layers[0]
    assert "int_execution_tokens_balance_cohorts_daily" in layers[2]
    assert check_graph(graph, cohort, "int_execution_token_prices_daily") == []  # Phase 1 reads nothing stale


def test_every_consumer_descends_from_prices():
    generated = project.generate(ProjectShape())
    graph = as_graph(generated)
    priced = graph.descendants({"model.refill_bench.int_execution_token_prices_daily"})
    consumers = {f"model.refill_bench.{n}" for n in generated.names("consumers")}
    assert consumers <= priced


def test_generation_is_deterministic():
    assert project.generate(ProjectShape(models=200)) == project.generate(ProjectShape(models=200))


def test_cohort_layers_split_the_cohort_evenly():
    assert project.layer_sizes(12, 3) == [4, 4, 4]
    assert project.layer_sizes(7, 3) == [3, 2, 2]
    with pytest.raises(ValueError):
        ProjectShape(cohort_size=2, cohort_layers=3)


def test_union_length_counts_overlapping_statements_once():
    assert union_length([(0, 2), (1, 3), (5, 6)]) == 4
    assert union_length([(0, 2), (1, 3), (5, 6)], window=(1, 5.5)) == 2.5
    assert union_length([]) == 0


def test_medians_are_taken_per_number_and_per_phase():
    runs = [{"flow": "refill", "wall_seconds": w, "phases": {"phase1": p}, "notes": []}
            for w, p in ((3.0, 1.0), (1.0, 2.0), (2.0, 3.0))]
    merged = median_run(runs)
    assert merged["wall_seconds"] == 2.0
    assert merged["phases"] == {"phase1": 2.0}
    assert merged["wall_all"] == [1.0, 2.0, 3.0]


def test_a_cached_project_runs_this_checkouts_package(tmp_path):
    """A cached incident's ``dbt_packages/refill`` may link a checkout that moved on."""
    generated = project.generate(ProjectShape(models=20))
    elsewhere = tmp_path / "old-checkout"
    elsewhere.mkdir()
    project_dir = tmp_path / "project"
    (project_dir / "dbt_packages").mkdir(parents=True)
    (project_dir / "dbt_packages" / "refill").symlink_to(elsewhere, target_is_directory=True)

    project.write_project(generated, project_dir, tmp_path / "chdb", tmp_path / "truth")

    assert (project_dir / "dbt_packages" / "refill").resolve() == project.REPO_ROOT.resolve()
    assert elsewhere.exists()  # the link is replaced, never what it pointed at


def test_a_project_before_deps_gets_no_package_link(tmp_path):
    project.write_project(project.generate(ProjectShape(models=20)), tmp_path / "p", tmp_path / "c", tmp_path / "t")
    assert not (tmp_path / "p" / "dbt_packages").exists()
