"""The incident lab: the ``integration_tests`` dbt project, its data, and the incident replay."""

from pathlib import Path

LAB_PROJECT_DIR = Path(__file__).resolve().parents[3] / "integration_tests"
