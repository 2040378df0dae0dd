"""The plan and the progress a person can read at 1,000+ models: summaries per phase, lines
held to 200 characters, statements abbreviated with counts (refill.render, pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from refill import render
from refill.dbt.graph import Node, ProjectGraph, Relation
from refill.dbt.settings import Settings
from refill.run.phases import all_steps, models_by_phase
from refill.run.plan import RefillPlan, make_window
from refill.run.plan_describe import describe_plan
from refill.run.repull import Repull, RunSpec

FOLDERS = ("models/staging", "models/intermediate/tokens", "models/intermediate/gpay", "models/marts",
           "models/api", "models/api/v2", "models/dex", "models/bridges")
MATERIALIZATIONS = ("view", "table", "incremental")


def big_project(models: int = 1250, cohort: int = 12, months: int = 2):
    """A manifest-like graph of ``models`` models (prices → cohort in 3 layers → the rest)
    and the plan refill would build for it: no dbt, no engine."""
    nodes = {"model.p.prices": Node("model.p.prices", "prices", materialized="view",
                                    original_file_path="models/staging/prices.sql")}
    names = [f"int_cohort_{i:02d}" for i in range(cohort)]
    for i, name in enumerate(names):
        parents = ("model.p.prices",) if i < 4 else (f"model.p.{names[i - 4]}",)
        nodes[f"model.p.{name}"] = Node(f"model.p.{name}", name, materialized="incremental",
                                        tags=frozenset({"refill_append"}), parents=parents,
                                        original_file_path=f"models/intermediate/cohort/{name}.sql")
    others = []
    for i in range(models - cohort - 1):
        name = f"model_with_a_rather_long_descriptive_name_{i:04d}"
        parent = "model.p.prices" if i % 3 else f"model.p.{names[i % cohort]}"
        nodes[f"model.p.{name}"] = Node(f"model.p.{name}", name, materialized=MATERIALIZATIONS[i % 3],
                                        parents=(parent,),
                                        original_file_path=f"{FOLDERS[i % len(FOLDERS)]}/{name}.sql")
        others.append(name)
    graph = ProjectGraph(nodes)
    lineage = [n for i, n in enumerate(others) if i % 3]
    downstream = [n for i, n in enumerate(others) if not i % 3]
    mechanisms = {n: ("microbatch: --event-time-start 2026-04-17 --event-time-end 2026-04-28" if i % 97 == 0
                      else f"{graph.by_name(n).materialized}: rebuilt whole") for i, n in enumerate(others)}
    window = make_window(from_date=dt.date(2026, 3, 28), today=dt.date(2026, 4, 27))
    assert len(window.months) == months
    plan = RefillPlan(
        window=window,
        settings=Settings(prices_model="prices", tag="refill_append", date_column="date", allow_insert_overwrite=False),
        project_dir="/p", schema="dbt", target="prod",
        cohort_layers=(tuple(names[:4]), tuple(names[4:8]), tuple(names[8:])),
        lineage_selector=("--select", "prices+", "--exclude", "tag:refill_append"),
        lineage_models=tuple(lineage), downstream_models=tuple(downstream),
        lineage_runs=(Repull(tuple(lineage), RunSpec((("price_lookback_days", 32),))),),
        downstream_runs=(Repull(tuple(downstream), RunSpec((("price_lookback_days", 32),))),),
        mechanisms=tuple(sorted(mechanisms.items())),
        relations={n.name: Relation("dbt", n.name) for n in nodes.values()},
    )
    return plan, graph


def test_the_1250_model_plan_fits_on_two_screens_with_no_line_over_200():
    plan, graph = big_project()
    text = describe_plan(plan, all_steps(plan, graph), render.model_info(graph))
    lines = text.splitlines()
    assert len(lines) <= 120, len(lines)
    assert max(map(len, lines)) <= render.LINE_LIMIT
    assert "  by materialization: " in text and "  by folder: models/" in text
    # the models that need attention are named, the routine ones counted
    phases = text.split("\nStatements", 1)[0]
    assert "model_with_a_rather_long_descriptive_name_0000  microbatch" in phases
    assert "model_with_a_rather_long_descriptive_name_0001" not in phases
    # the one statement that named every Phase 2 model says how many it left out
    assert "…(+823 models)" in text


def test_verbose_lists_every_model_and_still_abbreviates_statements():
    plan, graph = big_project()
    text = describe_plan(plan, all_steps(plan, graph), render.model_info(graph), verbose=True)
    assert all(name in text for name in plan.lineage_models + plan.downstream_models)
    assert max(map(len, text.splitlines())) <= render.LINE_LIMIT


def test_each_month_line_shows_that_months_vars():
    plan, graph = big_project()
    steps = {s.key: s for s in all_steps(plan, graph)}
    for month in plan.window.months:
        (run,) = [s for s in steps[f"phase1:{month}"].statements if s.startswith("dbt run")]
        assert f'"start_month": "{month}"' in run and f'"end_month": "{month}"' in run
        other = [m for m in plan.window.months if m != month][0]
        assert str(other) not in "".join(steps[f"phase1:{month}"].statements)


def test_phase_one_statements_parse_once_only_when_a_config_needs_it():
    plan, graph = big_project()
    statements = [s for step in all_steps(plan, graph) for s in step.statements]
    assert not any(s.startswith("dbt parse") for s in statements)
    dependent = RefillPlan(**{**plan.__dict__, "month_dependent": (("int_cohort_00", "config engine differs"),)})
    statements = [s for step in all_steps(dependent, graph) for s in step.statements]
    assert sum(s.startswith("dbt parse") for s in statements) == 1
    assert "int_cohort_00: config engine differs" in describe_plan(dependent, all_steps(dependent, graph))


@pytest.mark.parametrize("length", [201, 250, 8173, 23_000])
def test_clip_holds_the_limit_and_counts_what_it_left_out(length):
    line = "x" * length
    clipped = render.clip(line)
    assert len(clipped) <= render.LINE_LIMIT
    left_out = int(clipped.rsplit("(+", 1)[1].split(" ")[0])
    assert len(clipped.split(" … ")[0]) + left_out == length


def test_a_long_select_keeps_its_first_models_and_counts_the_rest():
    models = [f"model_{i:04d}" for i in range(470)]
    statement = "dbt run --select " + " ".join(models) + " --vars '{\"price_lookback_days\": 12}'"
    short = render.abbreviate_statement(statement)
    assert len(short) <= render.LINE_LIMIT
    assert short.startswith("dbt run --select model_0000 model_0001")
    assert "…(+465 models)" in short and short.endswith("--vars '{\"price_lookback_days\": 12}'")


def test_an_error_is_one_line_of_at_most_300_characters():
    message = "dbt run failed: (" + "; ".join(f"m{i}: Code: 47. DB::Exception: Missing columns\n  at line {i}"
                                            for i in range(500)) + ")"
    line = render.one_line_error(message)
    assert "\n" not in line and len(line) <= render.ERROR_LIMIT
    assert line.startswith("dbt run failed: (m0: Code: 47.")


def test_eta_uses_the_last_runs_durations_then_this_runs_mean():
    assert render.remaining_seconds(["a", "b"], {"x": 2.0}, {"a": 10.0}) == 12.0
    assert render.remaining_seconds(["a", "b"], {}, {"a": 10.0, "c": 4.0}) == 17.0
    assert render.remaining_seconds(["a"], {}, {}) is None
    assert render.remaining_seconds([], {}, {}) == 0.0


def test_progress_line_reads_done_of_n_elapsed_and_eta():
    line = render.progress_line("Phase 2: lineage re-pull", 312, 470, 62.4, 31.0)
    assert line == "Phase 2: lineage re-pull  312/470 models  elapsed 1m02s  ETA 31s"
    assert render.progress_line("Preflight", 0, 3, 1.0, None, "steps").endswith("0/3 steps  elapsed 1s  ETA …")


def test_progress_counts_a_cohort_model_once_per_month():
    plan, _ = big_project()
    counted = models_by_phase(plan)
    assert len(counted["phase1"]) == 12 * 2
    assert len(counted["phase2"]) + len(counted["phase3"]) == 1250 - 13


def _event(name: str, msg: str = "", level: str = "info", model: str = "", seconds: float = 0.0):
    from types import SimpleNamespace

    return SimpleNamespace(info=SimpleNamespace(name=name, msg=msg, level=level),
                           data=SimpleNamespace(node_info=SimpleNamespace(node_name=model), execution_time=seconds))


def test_progress_redraws_one_line_and_sends_dbts_lines_to_the_log(tmp_path):
    import io

    from refill.run.progress import Progress

    terminal = io.StringIO()
    progress = Progress(tmp_path / "run.log", live=True, last_run={"b": 30.0}, stream=terminal)
    progress.start_phase("Phase 2: lineage re-pull", ["a", "b", "c"], steps=1)
    progress(_event("LogModelResult", "1 of 3 OK created sql table model dbt.a", model="a", seconds=4.0))
    assert terminal.getvalue().rsplit("\r\x1b[K", 1)[1].startswith("Phase 2: lineage re-pull  1/3 models  elapsed ")
    assert terminal.getvalue().endswith("ETA 34s")  # b from the last run (30 s), c from this run's mean (4 s)
    progress(_event("MainReportVersion", "debug noise", level="debug"))
    progress.write_log("error: the whole message")
    progress.close()
    log = (tmp_path / "run.log").read_text()
    assert "1 of 3 OK created sql table model dbt.a" in log and "refill: error: the whole message" in log
    assert "debug noise" not in log
    assert "1 of 3 OK" not in terminal.getvalue()


def _stderr_of(monkeypatch, capsys, error):
    from refill import cli

    def fail(_args):
        raise error
    monkeypatch.setitem(cli.HANDLERS, "cleanup", fail)
    code = cli.main(["cleanup"])
    return code, capsys.readouterr().err.splitlines()


def test_an_error_too_long_for_its_line_lists_each_finding_and_every_next_command_whole(monkeypatch, capsys):
    """CI found the last of three findings, and a rollback command, cut off by the 300-character line."""
    from refill.errors import CheckFailed

    problems = tuple(f"db.model_{i}.value_usd is 0/NULL on 2026-04-1{i} in {i + 1} row(s) where a price exists"
                     for i in range(3)) + ("db.weekly period 2026-04-12 differs from a recompute of its SQL in 3 key(s)",)
    command = "python -m refill rollback --run 0123456789ab --project-dir " + "/very/long/path" * 30
    error = CheckFailed("verification failed: " + "; ".join(problems), findings=problems,
                        next_steps=(f"restore the backups: {command}",))
    code, lines = _stderr_of(monkeypatch, capsys, error)
    assert code == 3
    assert lines[0].startswith("refill: error: verification failed: db.model_0") and len(lines[0]) <= 300
    assert lines[1:5] == [f"refill:   - {p}" for p in problems]
    assert lines[5] == f"refill: next: restore the backups: {command}"
    assert len(lines) == 6


def test_an_error_that_fits_its_line_is_that_line_alone(monkeypatch, capsys):
    from refill.errors import CheckFailed

    error = CheckFailed("canary failed: lab.balances_usd (1 day(s))", findings=("lab.balances_usd (1 day(s))",))
    assert _stderr_of(monkeypatch, capsys, error) == (3, ["refill: error: canary failed: lab.balances_usd (1 day(s))"])


def test_findings_past_twenty_are_counted_not_printed(monkeypatch, capsys):
    from refill.errors import CheckFailed

    problems = tuple(f"finding number {i} " + "x" * 40 for i in range(25))
    code, lines = _stderr_of(monkeypatch, capsys, CheckFailed("; ".join(problems), findings=problems))
    assert lines[1:21] == [f"refill:   - {p}" for p in problems[:20]]
    assert lines[21] == "refill:   … 5 more"
    assert len(lines) == 22


def test_findings_past_twenty_point_to_the_log_of_a_run(monkeypatch, capsys, tmp_path):
    from refill.errors import CheckFailed

    problems = tuple(f"finding number {i} " + "x" * 40 for i in range(25))
    error = CheckFailed("; ".join(problems), findings=problems)
    error.log_path = tmp_path / "run.log"
    _, lines = _stderr_of(monkeypatch, capsys, error)
    assert lines[21] == "refill:   … 5 more (the full log has them all)"
    assert lines[22] == f"refill: full log: {tmp_path / 'run.log'}"


def test_the_resume_command_adds_resume_once():
    from refill.run.target import resume_command

    assert resume_command("python -m refill run --from-date 2026-04-17") == \
        "python -m refill run --from-date 2026-04-17 --resume"
    assert resume_command("python -m refill run --resume --from-date 2026-04-17") == \
        "python -m refill run --resume --from-date 2026-04-17"
    assert resume_command(None) == "the same command --resume"
