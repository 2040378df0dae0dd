"""The incident lab: the ``integration_tests`` dbt project, its data, and the incident replay."""

from refill import CHECKOUT_ROOT

LAB_PROJECT_DIR = CHECKOUT_ROOT / "integration_tests"
