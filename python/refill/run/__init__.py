"""A refill run: the plan (pure), resolving it against dbt and the warehouse, the target's state
and locks, the journal, the phases and the orchestrator that executes their steps.
"""
