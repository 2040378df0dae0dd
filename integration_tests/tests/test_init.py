"""`refill init` on a copy of the lab with refill taken out: no package, no shims, no refill
vars. After init the project lints clean and dbt installs and parses it; a second init
changes nothing; the user's own files keep their comments (issue #8, item 0)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import run_refill
from refill.commands.adopt import shims_text
from refill.lab import LAB_PROJECT_DIR

pytestmark = pytest.mark.engine

REFILL_VARS = ("prices_model", "refill_tag", "refill_canaries")


def _without_refill(tmp_path: Path) -> Path:
    """The lab as a project that has never heard of refill (its seed-style models stay)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "models", "seeds"):
        source = LAB_PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    (project / "macros").mkdir()
    text = (LAB_PROJECT_DIR / "dbt_project.yml").read_text()
    text = re.sub(r"  # refill reads these.*?refill_tag: refill_append\n", "", text, flags=re.S)
    text = re.sub(r"  # Phase 1\.5.*?zero_is_anomaly: true\n", "", text, flags=re.S)
    (project / "dbt_project.yml").write_text(text)
    (project / "profiles.yml").write_text(yaml.safe_dump({"refill_lab": {"target": "dev", "outputs": {"dev": {
        "type": "clickhouse", "driver": "chdb", "chdb_path": str(tmp_path / "chdb"), "schema": "adopted"}}}}))
    return project


def _files(project: Path) -> dict[str, str]:
    return {str(p.relative_to(project)): p.read_text() for p in sorted(project.rglob("*"))
            if p.is_file() and "dbt_packages" not in p.parts and "target" not in p.parts and "logs" not in p.parts}


def test_init_makes_a_seed_style_project_lint_and_parse(tmp_path):
    project = _without_refill(tmp_path)
    before = run_refill("lint", "--project-dir", str(project))
    assert before.returncode == 5 and "RF000" in before.stdout  # unprefixed macros: undefined without shims

    result = run_refill("init", "--project-dir", str(project))
    assert result.returncode == 0, result.stderr
    assert "created            packages.yml" in result.stdout
    assert "created            macros/refill_shims.sql" in result.stdout
    assert "updated            dbt_project.yml" in result.stdout
    assert "driver: chdb" in result.stdout and "id: refill-lint" in result.stdout  # the printed snippets

    (entry,) = yaml.safe_load((project / "packages.yml").read_text())["packages"]
    assert (project / entry["local"]).resolve() == LAB_PROJECT_DIR.parent
    assert (project / "macros" / "refill_shims.sql").read_text() == shims_text()
    text = (project / "dbt_project.yml").read_text()
    assert "# The incident lab: a small token-analytics warehouse" in text  # the user's comments survive
    assert "# refill: the model a price gap starts from." in text  # ours are documented
    declared = yaml.safe_load(text)["vars"]
    assert {k: declared[k] for k in REFILL_VARS} == {
        "prices_model": "int_execution_token_prices_daily", "refill_tag": "refill_append", "refill_canaries": []}
    assert declared["refill_allow_insert_overwrite"] is True  # what was there stays

    lint = run_refill("lint", "--project-dir", str(project))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    common = ["--project-dir", str(project), "--profiles-dir", str(project)]
    assert run_refill("dbt", "deps", *common[:2]).returncode == 0
    parsed = run_refill("dbt", "parse", *common)
    assert parsed.returncode == 0, parsed.stdout[-2000:]


def test_init_twice_changes_nothing(tmp_path):
    project = _without_refill(tmp_path)
    assert run_refill("init", "--project-dir", str(project)).returncode == 0
    files = _files(project)
    again = run_refill("init", "--project-dir", str(project))
    assert again.returncode == 0
    assert [line.split()[0] for line in again.stdout.splitlines()[:3]] == ["unchanged"] * 3
    assert _files(project) == files


def test_init_keeps_edited_shims_unless_forced(tmp_path):
    project = _without_refill(tmp_path)
    shims = project / "macros" / "refill_shims.sql"
    shims.write_text("{# mine #}\n")
    kept = run_refill("init", "--project-dir", str(project))
    assert kept.returncode == 0 and "kept               macros/refill_shims.sql" in kept.stdout
    assert shims.read_text() == "{# mine #}\n"
    forced = run_refill("init", "--project-dir", str(project), "--force")
    assert "overwrote          macros/refill_shims.sql" in forced.stdout
    assert shims.read_text() == shims_text()


def test_a_macro_the_project_defines_itself_gets_no_shim(tmp_path):
    """The seed's project had its own refill_safe_pre_hook; dbt refuses two macros of one name."""
    project = _without_refill(tmp_path)
    own = project / "macros" / "db" / "refill_safe_hooks.sql"
    own.parent.mkdir()
    own.write_text("{% macro refill_safe_pre_hook() %}{{ return(refill.refill_safe_pre_hook()) }}{% endmacro %}\n")
    result = run_refill("init", "--project-dir", str(project))
    assert result.returncode == 0
    assert "defines refill_safe_pre_hook itself (macros/db/refill_safe_hooks.sql)" in result.stdout
    shims = (project / "macros" / "refill_shims.sql").read_text()
    assert "macro refill_safe_pre_hook" not in shims and "macro refill_safe_post_hook" in shims
    assert run_refill("dbt", "deps", "--project-dir", str(project)).returncode == 0
    parsed = run_refill("dbt", "parse", "--project-dir", str(project), "--profiles-dir", str(project))
    assert parsed.returncode == 0, parsed.stdout[-2000:]


def test_a_file_init_cannot_extend_safely_stops_everything(tmp_path):
    project = _without_refill(tmp_path)
    text = (project / "dbt_project.yml").read_text()
    text = re.sub(r"\nvars:\n(  .*\n|\s*\n)*", "\nvars: {refill_allow_insert_overwrite: true}\n", text)
    (project / "dbt_project.yml").write_text(text)
    before = _files(project)
    result = run_refill("init", "--project-dir", str(project))
    assert result.returncode == 2
    assert result.stderr.startswith("refill: error: ") and "written inline" in result.stderr
    assert "Traceback" not in result.stderr
    assert _files(project) == before  # not even packages.yml or the shims


def test_init_outside_a_project_and_dry_run_write_nothing(tmp_path):
    missing = run_refill("init", "--project-dir", str(tmp_path))
    assert missing.returncode == 2 and "no dbt_project.yml" in missing.stderr
    assert list(tmp_path.iterdir()) == []
    project = _without_refill(tmp_path)
    before = _files(project)
    dry = run_refill("init", "--project-dir", str(project), "--dry-run")
    assert dry.returncode == 0 and "would be created" in dry.stdout
    assert _files(project) == before
