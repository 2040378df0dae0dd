"""The README's runbook, run as written (issue #8, item 3).

Every ```bash block the README marks `<!-- runbook: <scenario> exit=<code> -->` runs
verbatim in bash, in order, from the lab's directory, and must exit with that code; a
```text block marked `<!-- runbook: <scenario> output -->` is the exact output of the
block before it. Each scenario runs on a private copy of the seed's incident.

Why verbatim rather than substituted: what a reader copies is exactly what ran. The
commands are written for `integration_tests/` with its own `profiles.yml`, whose
`chdb_path` reads `REFILL_LAB_DATA` — the one indirection, and a plain dbt `env_var`. The
test rebuilds that directory in a temporary checkout (the package's files linked beside
it, so `packages.yml: local: ../` resolves) and puts the incident where the README's
setup block exports `REFILL_LAB_DATA` to point. The setup block's first line, `refill
demo --incident-only`, is the one line not run here: the session fixture replays the
same incident with the same simulator once for every engine test. The hazards a reader
cannot produce with a refill command (a poisoned mutation, a month already wrong) are
produced here with the engine's own statements, as the README says.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab_hazards import poison_mutation
from refill.engine import embedded as engine
from refill.lab import LAB_PROJECT_DIR

pytestmark = [pytest.mark.engine, pytest.mark.slow]

REPO_ROOT = LAB_PROJECT_DIR.parent
README = REPO_ROOT / "README.md"
BLOCK = re.compile(r"<!-- runbook: (?P<scenario>[\w-]+)(?: exit=(?P<exit>\d+))?(?P<output> output)? -->\n"
                   r"```(?P<lang>\w+)\n(?P<body>.*?)\n```", re.S)
PACKAGE_FILES = ("dbt_project.yml", "macros", "models")
LAB_FILES = ("dbt_project.yml", "packages.yml", "profiles.yml", "models", "macros", "seeds")
SCHEMA = "refill_lab"


@dataclass(frozen=True)
class Block:
    scenario: str
    body: str
    exit: int | None  # None: an output block
    line: int

    @property
    def is_output(self) -> bool:
        return self.exit is None


def runbook() -> list[Block]:
    text = README.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        output = bool(match.group("output"))
        assert match.group("lang") == ("text" if output else "bash"), match.group(0)[:80]
        exit_code = None if output else int(match.group("exit") or 0)
        blocks.append(Block(match.group("scenario"), match.group("body"), exit_code,
                            text.count("\n", 0, match.start()) + 1))
    return blocks


SCENARIOS = list(dict.fromkeys(b.scenario for b in runbook() if b.scenario != "setup"))


def test_the_runbook_covers_the_incident_and_its_siblings():
    assert SCENARIOS == ["price-gap", "oom", "poisoned-mutation", "canary", "killed-run", "unexplained-diff"]
    (setup,) = [b for b in runbook() if b.scenario == "setup"]
    assert setup.body.splitlines()[0].startswith("python -m refill demo --incident-only")


# -- the lab the README's commands run in --------------------------------------------------


@pytest.fixture
def lab_dir(seed_incident_dir, tmp_path) -> tuple[Path, dict]:
    """integration_tests/ in a temporary checkout, holding the incident where the README
    exports REFILL_LAB_DATA; the setup block's other lines run here, as written."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in PACKAGE_FILES:
        (repo / name).symlink_to(REPO_ROOT / name)
    lab = repo / "integration_tests"
    lab.mkdir()
    for name in LAB_FILES:
        source = LAB_PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, lab / name)

    (setup,) = [b for b in runbook() if b.scenario == "setup"]
    data = re.search(r"^export REFILL_LAB_DATA=(\S+)$", setup.body, re.M).group(1)
    shutil.copytree(seed_incident_dir, lab / data, symlinks=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("REFILL_FAULT_INJECT", None)
    rest = "\n".join(setup.body.splitlines()[1:])
    done = subprocess.run(["bash", "-e", "-c", rest], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    env["REFILL_LAB_DATA"] = data  # what the block exported, for the blocks that follow
    return lab, env


def _hazard(scenario: str, lab: Path, env: dict) -> None:
    """What the README says the docs test produces before a scenario's first command."""
    if scenario not in ("poisoned-mutation", "canary", "unexplained-diff"):
        return
    client = engine.open_client(lab / env["REFILL_LAB_DATA"])
    try:
        if scenario == "poisoned-mutation":
            poison_mutation(client, SCHEMA, "int_execution_transfers_usd_daily")
        elif scenario == "unexplained-diff":  # the transfers feed lost a day since the daily runs read it
            client.command(f"ALTER TABLE {SCHEMA}_raw.transfers DELETE WHERE block_date = '2026-04-05'",
                           settings={"mutations_sync": 2})
        else:  # an earlier bad run doubled the last day of March
            client.command(f"ALTER TABLE {SCHEMA}.int_execution_tokens_supply_holders_daily "
                           "UPDATE supply_usd = supply_usd * 2 WHERE date = '2026-03-31'",
                           settings={"mutations_sync": 2})
    finally:
        client.close()


def _errors(output: str) -> str:
    """The lines that say what failed: a stack trace buries ClickHouse's message otherwise."""
    return "\n".join(line[:500] for line in output.splitlines()
                     if "Code: " in line or "Error" in line or "error:" in line)[:3000]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_runbook_scenario_runs_as_written(scenario, lab_dir):
    lab, env = lab_dir
    _hazard(scenario, lab, env)
    previous = None
    for block in (b for b in runbook() if b.scenario == scenario):
        if block.is_output:
            assert previous is not None, f"README line {block.line}: output block before any command"
            assert _lines(previous.stdout) == _lines(block.body), (
                f"README line {block.line}: the output shown differs from what the command printed:\n"
                + previous.stdout)
            continue
        previous = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.body], cwd=lab, env=env,
                                  capture_output=True, text=True, timeout=900)
        # bash execs a lone command; a shell reports a process killed by signal N as 128 + N
        code = 128 - previous.returncode if previous.returncode < 0 else previous.returncode
        assert code == block.exit, (
            f"README line {block.line}: exit {code}, expected {block.exit}:\n{block.body}\n"
            f"--- errors\n{_errors(previous.stdout + previous.stderr)}\n"
            f"--- stdout\n{previous.stdout[-3000:]}\n--- stderr\n{previous.stderr[-3000:]}")
