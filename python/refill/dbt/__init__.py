"""The dbt side: in-process dbt invocations and parses, the project graph, refill's settings from
flags and the project's vars.
"""
