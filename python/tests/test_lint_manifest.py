"""Manifest mode (dbt's own parse) agrees with files mode on the lab and on the fixtures.

These parse with dbt in-process (a few seconds each); no engine is started.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from refill.cli import main
from refill.dbt.session import DbtSession
from refill.errors import ExitCode
from refill.lint import check_manifest, lint_project
from refill.lint.manifest import manifest_models
from refill.lint.runner import lint_models

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "integration_tests"
FIXTURE_PROJECT = Path(__file__).parent / "fixtures" / "lint" / "project"


def write_profiles(work: Path, profile: str) -> Path:
    """A chdb profile: parsing needs the adapter, never the data directory."""
    output = {"type": "clickhouse", "driver": "chdb", "chdb_path": str(work / "chdb"), "schema": "lint"}
    (work / "profiles.yml").write_text(yaml.safe_dump({profile: {"target": "t", "outputs": {"t": output}}}))
    return work


def comparable(findings, project: Path) -> list[tuple]:
    return sorted(
        (Path(f.path).resolve().relative_to(project.resolve()).as_posix(), f.line, f.col, f.code, f.message, f.severity)
        for f in findings
    )


@pytest.fixture(scope="module")
def lab_parse(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab-parse")
    session = DbtSession(LAB, profiles_dir=write_profiles(work, "refill_lab"), artifacts_dir=work, quiet=True)
    if not (LAB / "dbt_packages" / "refill").exists():
        session.invoke(["deps"])
    return session.parse(), session.parse_cache_dir(None) / "manifest.json"


@pytest.fixture(scope="module")
def fixture_parse(tmp_path_factory):
    work = tmp_path_factory.mktemp("fixture-parse")
    project = work / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    (project / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(REPO)}]}))
    session = DbtSession(project, profiles_dir=write_profiles(work, "lint_fixtures"), artifacts_dir=work, quiet=True)
    session.invoke(["deps"])
    return project, session.parse(), session.parse_cache_dir(None) / "manifest.json"


LAB_CARRIED_FORWARD_NOTES = [("RF011", "int_execution_gpay_volume_cumulative_daily"),
                             ("RF011", "int_execution_gpay_wallet_balances_daily")]


def test_lab_is_clean_in_both_modes_on_the_same_cohort(lab_parse):
    manifest, _ = lab_parse
    in_manifest = lint_models(manifest_models(manifest, LAB))
    in_files = lint_project(LAB)
    # clean: only the RF011 notes of the two models that carry state forward from {{ this }}
    assert in_manifest.findings == in_files.findings
    assert sorted((f.code, f.model) for f in in_files.findings) == LAB_CARRIED_FORWARD_NOTES
    assert in_manifest.models_checked == in_files.models_checked == 6


def test_lab_manifest_json_through_the_cli(lab_parse, capsys):
    _, manifest_json = lab_parse
    assert main(["lint", "--manifest", str(manifest_json), "--project-dir", str(LAB)]) == ExitCode.OK
    assert "6 of 16 model(s) carry the refill tag" in capsys.readouterr().err


def test_fixture_findings_are_the_same_in_both_modes(fixture_parse):
    project, manifest, manifest_json = fixture_parse
    in_files = comparable(lint_project(project).findings, project)
    assert len(in_files) == 13  # EXPECTED in test_lint_rules
    assert comparable(check_manifest(manifest, project_dir=project), project) == in_files
    assert comparable(check_manifest(manifest_json, project_dir=project), project) == in_files


def test_preflight_reads_the_opt_in_from_the_project_unless_told(fixture_parse):
    project, manifest, _ = fixture_parse
    def codes(**options):
        return {f.code for f in check_manifest(manifest, project_dir=project, select={"insert_overwrite_*"}, **options)}
    assert codes() == {"RF006"}
    assert codes(allow_insert_overwrite=True) == set()


def test_manifest_mode_sees_tags_dbt_resolved_outside_the_model_file(fixture_parse):
    project, _, manifest_json = fixture_parse
    document = json.loads(manifest_json.read_text())
    document["nodes"]["model.lint_fixtures.plain_view"]["tags"].append("refill_append")  # as if from schema.yml
    codes = {f.code for f in check_manifest(document, project_dir=project) if f.model == "plain_view"}
    assert {"RF001", "RF004", "RF005", "RF008"} <= codes


def test_preflight_on_a_parsed_cohort_refuses_with_exit_5(fixture_parse):
    from refill.errors import ContractViolation
    from refill.lint import raise_for_errors

    project, manifest, _ = fixture_parse
    with pytest.raises(ContractViolation) as refused:
        raise_for_errors(check_manifest(manifest, project_dir=project))
    assert refused.value.exit_code == ExitCode.CONTRACT and "wrong_branch (RF001)" in refused.value.message


def test_cli_parse_mode_lints_what_dbt_parsed(fixture_parse, monkeypatch, capsys):
    project, manifest, _ = fixture_parse
    monkeypatch.setattr(DbtSession, "parse", lambda self, vars=None, reason="": manifest)  # the parse is the fixture's
    code = main(["lint", "--parse", "--project-dir", str(project), "--profiles-dir", str(project.parent),
                 "--format", "json"])
    assert code == ExitCode.CONTRACT
    assert len(json.loads(capsys.readouterr().out)["findings"]) == 13


REALISTIC = Path(__file__).parent / "fixtures" / "lint" / "realistic"


@pytest.fixture(scope="module")
def realistic_parse(tmp_path_factory):
    work = tmp_path_factory.mktemp("realistic-parse")
    project = work / "project"
    shutil.copytree(REALISTIC, project)
    session = DbtSession(project, profiles_dir=write_profiles(work, "ledger"), artifacts_dir=work, quiet=True)
    return project, session.parse()


def test_project_owned_contract_macros_count_in_manifest_mode_as_in_files_mode(realistic_parse):
    project, manifest = realistic_parse
    in_files = comparable(lint_project(project).findings, project)
    in_manifest = comparable(check_manifest(manifest, project_dir=project), project)
    assert in_manifest == in_files
    assert {(path.split("/")[-1], code) for path, _, _, code, _, _ in in_files} == {
        ("bad_pool_fees_one_branch_unfiltered.sql", "RF002"),
        ("bad_daily_append_lookback.sql", "RF007"),
        ("bad_overwrite_day_window.sql", "RF006"),
        ("int_holder_balances_daily.sql", "RF011"),
        ("bad_inline_memory_hooks.sql", "RF003"),
    }


def test_both_modes_count_the_same_models(realistic_parse):
    # The fixture holds a tagged model with enabled=false: dbt leaves it out of the
    # manifest's nodes, so files mode must not count it either.
    project, manifest = realistic_parse
    in_files = lint_project(project)
    in_manifest = lint_models(manifest_models(manifest, project))
    assert (in_manifest.models_seen, in_manifest.models_checked) == (in_files.models_seen, in_files.models_checked)


# -- one preflight pass, every problem at once ------------------------------------------

def test_one_preflight_pass_refuses_with_every_graph_and_contract_problem(fixture_parse, capsys, monkeypatch):
    import copy
    import datetime as dt
    from types import SimpleNamespace

    from refill.errors import PreflightRefused
    from refill.run.plan import make_window
    from refill.run.plan_resolve import resolve_plan

    project, manifest, _ = fixture_parse
    broken = copy.deepcopy(manifest)
    # a priced materialized view the cohort reads: Phase 0.5 cannot re-pull it (dbt run does not
    # refill an existing MV), so Phase 1 would read it stale
    balances = broken.nodes["model.lint_fixtures.balances"]
    balances.config.materialized = "materialized_view"
    balances.depends_on.nodes.append("model.lint_fixtures.prices")
    window = make_window(from_date=dt.date(2026, 4, 17), today=dt.date(2026, 4, 27))
    from refill.run.phases import preflight

    # no warehouse here: the schema-drift check, which compiles the cohort and reads its tables,
    # is engine-tested (test_phase1_schema_drift), down to its problems joining this table
    monkeypatch.setattr(preflight, "check_schema_drift", lambda *args, **kwargs: ((), (), []))
    with pytest.raises(PreflightRefused) as refused:
        # no warehouse here: the partitioning check (engine-tested elsewhere) finds no table to refuse
        session = SimpleNamespace(project_dir=project, schema="lint_fixtures", cli_vars={},
                                  show=lambda sql, manifest: SimpleNamespace(rows=[]))
        resolve_plan(session, broken, window, prices_model="prices")
    problems = refused.value.problems
    assert refused.value.exit_code == ExitCode.CONTRACT
    assert {p.kind for p in problems} == {"graph", "contract"}
    [graph] = [p for p in problems if p.kind == "graph"]
    assert graph.model == "balances" and "only repaired after Phase 1" in graph.message
    assert "contract" not in graph.message  # a graph refusal is not a contract violation
    contract = {p.model: p.message for p in problems if p.kind == "contract"}
    assert contract["wrong_branch"].startswith("(RF001) ") and "insert_overwrite_day_window" in contract
    assert "refill: warning: inlined_hooks: RF003" in capsys.readouterr().err
