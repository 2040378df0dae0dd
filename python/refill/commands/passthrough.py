"""``refill dbt …``: dbt's own command line, in this process, with the chdb driver registered."""

from __future__ import annotations

from typing import Sequence

from refill.engine import embedded as engine


def run_dbt(dbt_args: Sequence[str]) -> int:
    """Run dbt exactly as the ``dbt`` executable would and return its exit code."""
    from dbt.cli.main import cli

    engine.install()
    try:
        cli.main(args=list(dbt_args), prog_name="dbt", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
