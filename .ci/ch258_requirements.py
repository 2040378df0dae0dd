"""Print the requirements of CI's second environment: refill's own, on chDB 4.0.x.

chDB 4.0.x embeds ClickHouse 25.8 LTS. refill's pyproject asks for chdb>=4.4 (26.x) and
for clickhouse-connect's `chdb` extra, which asks for chdb>=4.1.7; clickhouse-connect's chdb
interface itself works with 4.0.x. So this environment takes every other requirement from
pyproject.toml as it is (one list to keep up to date), the chdb one replaced, the extra
dropped, and installs refill itself with --no-deps.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

CHDB_25_8 = "chdb~=4.0.2"


def requirements(pyproject: Path, extras: tuple[str, ...] = ("test",)) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    out = []
    for line in wanted:
        requirement = Requirement(line)
        if requirement.name == "chdb":
            out.append(CHDB_25_8)
            continue
        if requirement.name == "clickhouse-connect":
            requirement.extras = set()
        out.append(str(requirement))
    return out


if __name__ == "__main__":
    print("\n".join(requirements(Path(__file__).resolve().parents[1] / "pyproject.toml")))
