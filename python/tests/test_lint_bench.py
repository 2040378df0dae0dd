"""The speed benchmark's generator, at a tiny size, so it cannot rot (the timing itself is
`python benchmarks/lint_speed.py`, not a test)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from refill.lint import lint_project

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "lint_speed.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("lint_speed", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_project_lints_clean_with_its_cohort_evaluated(tmp_path):
    counts = load_benchmark().generate(tmp_path / "bench", models=40, cohort_every=8)
    result = lint_project(tmp_path / "bench")
    assert result.findings == []
    assert result.models_seen == counts["total"] and result.models_checked == counts["cohort"] >= 3


def test_one_evaluator_per_project_not_per_model(tmp_path, monkeypatch):
    # Each Evaluator builds its own Jinja environment: built once per model file, that cost
    # grows with the project, not with the cohort (about 2% of a 1,250-model lint).
    from refill.lint import evaluate, parsetime, runner
    from refill.lint.files import project_models

    built = []
    original = evaluate.Evaluator.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(evaluate.Evaluator, "__init__", counting)
    counts = load_benchmark().generate(tmp_path / "bench", models=40, cohort_every=8)
    result = lint_project(tmp_path / "bench")
    assert result.models_seen == counts["total"] > 1 and len(built) == 1

    built.clear()
    models = project_models(tmp_path / "bench").models
    list(runner.cohort_facts(models))
    assert len(built) == 1
    built.clear()
    parsetime.month_dependent_models(models, tag="refill_append")
    assert len(built) == 1


def test_forked_workers_share_the_macros_loaded_before_the_fork(tmp_path, monkeypatch):
    # Workers are forks: a macro library loaded in each of them is the same work done once
    # per worker (on a 2-core machine the lint's CPU, not its wall, is what the others pay).
    from refill.lint import macros, runner
    from refill.lint.files import project_models

    log = tmp_path / "macro_loads"
    original = macros.MacroLibrary.__init__

    def logging_init(self, *args, **kwargs):
        with log.open("a") as out:  # a file, not a list: the workers are other processes
            out.write("load\n")
        original(self, *args, **kwargs)

    monkeypatch.setattr(macros.MacroLibrary, "__init__", logging_init)
    counts = load_benchmark().generate(tmp_path / "bench", models=runner.PARALLEL_MIN_MODELS + 20, cohort_every=40)
    models = project_models(tmp_path / "bench").models
    result = runner.lint_models(models, jobs=2)
    assert result.findings == [] and result.models_checked == counts["cohort"] >= 2
    assert log.read_text().count("load") == 1
