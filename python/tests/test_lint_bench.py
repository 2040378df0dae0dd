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
