"""The target's credentials are resolved by dbt's profile code, before any dbt invocation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

_SCRIPT = """
import sys
from refill.dbt.session import DbtSession
session = DbtSession(sys.argv[1])
print(session.credentials.chdb_path, session.schema, session.target_name)
"""


def test_env_var_in_profiles_resolves_without_a_prior_dbt_invocation(tmp_path: Path):
    # A fresh process: commands such as `refill cleanup` read the profile before dbt runs.
    (tmp_path / "dbt_project.yml").write_text(
        yaml.safe_dump({"name": "p", "version": "1", "config-version": 2, "profile": "p"}))
    output = {"type": "clickhouse", "driver": "chdb", "schema": "{{ env_var('P_SCHEMA') }}",
              "chdb_path": "{{ env_var('P_DATA', '.refill/chdb') }}"}
    (tmp_path / "profiles.yml").write_text(yaml.safe_dump({"p": {"target": "dev", "outputs": {"dev": output}}}))
    env = {**os.environ, "P_SCHEMA": "from_env", "P_DATA": "elsewhere/chdb",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["elsewhere/chdb", "from_env", "dev"]
