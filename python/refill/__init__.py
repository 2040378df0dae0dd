"""refill: repair ClickHouse dbt models after an upstream data gap."""

from pathlib import Path

__version__ = "0.1.0"

# A source checkout (what ``pip install -e .`` installs) holds the dbt package and the lab here,
# two levels above this package (``python/refill``). A wheel install has neither: callers check.
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]
