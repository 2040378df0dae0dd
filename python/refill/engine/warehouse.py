"""The orchestrator's own connection: the same client dbt-clickhouse builds from the profile."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

from refill.engine import embedded as engine
from refill.engine.sql import on_cluster, system_table, table
from refill.errors import StepFailed


class Warehouse:
    """Runs refill's own SQL on the profile's target (http, native or the embedded chdb).

    Built with dbt-clickhouse's client factory, so custom_settings, TLS and the cluster
    come from the profile exactly as dbt sees them. On chdb it also keeps the engine
    open between dbt invocations, which then share it.
    """

    def __init__(self, credentials, project_dir: Path) -> None:
        from dbt.adapters.clickhouse import connections

        engine.install()
        creds = copy.copy(credentials)
        creds.check_exchange = False  # dbt-clickhouse probes with CREATE/DROP; we need no probe
        if creds.driver == engine.DRIVER:
            creds.chdb_path = str(engine.resolve_data_dir(creds.chdb_path, project_dir))
        self.schema: str = creds.schema
        self.cluster: str | None = (creds.cluster or "").strip() or None
        self.database_engine: str = creds.database_engine or ""
        self.driver: str = creds.driver or "http"
        self.data_dir: Path | None = Path(creds.chdb_path) if creds.driver == engine.DRIVER else None
        try:
            self._client = connections.get_db_client(creds)
        except Exception as exc:
            cause = exc.__cause__
            if isinstance(cause, engine.DataDirectoryInUse):
                raise cause from None
            raise StepFailed(f"cannot connect to the warehouse: {_one_line(exc)}") from exc

    def on_cluster(self) -> str:
        """`` ON CLUSTER `c` `` for DDL-like statements on this target (``refill.engine.sql.on_cluster``)."""
        return on_cluster(self.cluster, self.database_engine)

    def system_table(self, name: str) -> str:
        """``system.<name>`` on this server, or on every replica of the profile's cluster."""
        return system_table(name, self.cluster)

    def rows(self, sql: str, settings: dict[str, Any] | None = None) -> list[tuple]:
        return list(self._call("query", sql, settings).result_set)

    def scalar(self, sql: str, settings: dict[str, Any] | None = None):
        rows = self.rows(sql, settings)
        return rows[0][0] if rows else None

    def execute(self, sql: str, settings: dict[str, Any] | None = None) -> None:
        self._call("command", sql, settings)

    def drop_table(self, database: str, name: str) -> None:
        """``DROP TABLE IF EXISTS … SYNC`` on every replica, as the package's ``_drop_table_sql``:
        the table is gone when this returns (an Atomic database otherwise drops it later)."""
        self.execute(f"DROP TABLE IF EXISTS {table(database, name)}{self.on_cluster()} SYNC")

    def execute_all(self, statements: Sequence[str], settings: dict[str, Any] | None = None) -> None:
        for statement in statements:
            self.execute(statement, settings)

    def close(self) -> None:
        """Let go of the connection (on chdb: the engine stops when no client holds it);
        idempotent, so a run's shared warehouse can be closed by each of its holders."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, sql: str, settings: dict[str, Any] | None):
        from dbt_common.exceptions import DbtDatabaseError

        kwargs = {"settings": settings} if settings else {}
        try:
            return getattr(self._client, method)(sql, **kwargs)
        except DbtDatabaseError as exc:
            raise StepFailed(f"{_one_line(exc)}\n  in: {_one_line(sql)[:300]}") from exc


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())
