"""The refill benchmark: a generated dbt project, the seed's recovery flow as an operator
runs it (dbt CLI subprocesses), refill's flow, and the harness that measures both."""
