"""refill: repair ClickHouse dbt models after an upstream data gap."""

__version__ = "0.1.0"
