"""The warehouse side: the embedded chDB driver, the orchestrator's own connection, SQL quoting,
statement timing, and the crash injection of refill's fault tests.
"""
