"""Phases are data (issue #17): ``refill.run.phases.PHASES`` is the order a run walks, and a phase
added there (a module and one line) is run, titled, journaled and seen by rollback with
nothing else changed. Pure: a plan built without dbt, steps that touch no engine."""

from __future__ import annotations

import types

import pytest

from refill.commands.rollback import rebuilt_from_cohort
from refill.errors import PreflightProblem, PreflightRefused
from refill.run import phases
from refill.run.journal import JournalStore
from refill.run.observer import TerminalObserver
from refill.run.orchestrator import RunReport, execute
from refill.run.phases import downstream, verify
from refill.run.phases.context import Phase, RunContext, Step
from refill.run.plan import Repairs
from refill.run.progress import Progress
from refill.run.repull import lookback_specs
from test_build_plan import WINDOW, plan_of, project, scope_of


def throwaway_module(ran: list[str]) -> types.ModuleType:
    """What a newcomer writes as ``refill/run/phases/<name>.py``: a key, its steps, its Phase."""
    module = types.ModuleType("refill.run.phases.throwaway")
    module.KEY = "throwaway"

    def steps(plan, graph):
        return [Step(key=f"{module.KEY}:marts", phase=module.KEY, title="recount the marts",
                     statements=("SELECT count() FROM mart",),
                     action=lambda ctx: ran.append(ctx.plan.run_id) or {"rows": 3})]

    module.steps = steps
    module.PHASE = Phase(module.KEY, "Throwaway: recount the marts", steps, rebuilds_from_cohort=True)
    return module


@pytest.fixture
def throwaway(monkeypatch):
    """The throwaway phase, one line in the tuple: right after Phase 3."""
    ran: list[str] = []
    module = throwaway_module(ran)
    order = list(phases.PHASES)
    order.insert(order.index(downstream.PHASE) + 1, module.PHASE)
    monkeypatch.setattr(phases, "PHASES", tuple(order))
    return module, ran


def test_a_phase_added_to_the_tuple_runs_in_its_place_titled_and_journaled(throwaway, tmp_path, capsys):
    module, ran = throwaway
    graph = project()
    plan = plan_of(graph, scope_of(graph))
    planned = phases.planned(plan, graph)
    keys = [phase.key for phase, _ in planned]
    assert keys.index("throwaway") == keys.index(downstream.KEY) + 1 and keys.index(verify.KEY) > keys.index("throwaway")
    assert [s.key for s in phases.all_steps(plan, graph)].count("throwaway:marts") == 1

    journal = JournalStore(tmp_path).start(plan.run_id, {}, "python -m refill run")
    ctx = RunContext(plan=plan, session=None, manifest=None, graph=graph)
    only = [(phase, steps) for phase, steps in planned if phase is module.PHASE]
    report = RunReport(plan={})
    execute(ctx, only, report, journal, TerminalObserver(Progress(None, live=False), plan.run_id))
    assert ran == [plan.run_id]
    out = capsys.readouterr().out
    assert "=== Throwaway: recount the marts ===" in out and "[throwaway:marts] OK in" in out
    assert [(r.key, r.phase, r.status, r.details) for r in report.steps] == [
        ("throwaway:marts", "throwaway", "ok", {"rows": 3})]
    assert JournalStore(tmp_path).load(plan.run_id).data["steps"]["throwaway:marts"]["status"] == "ok"

    # a resumed attempt skips it: the journal has it as done
    execute(ctx, only, RunReport(plan={}), journal, TerminalObserver(Progress(None, live=False), plan.run_id))
    assert ran == [plan.run_id]
    assert f"[throwaway:marts] done by an earlier attempt of run {plan.run_id}: skipped" in capsys.readouterr().out


def test_rollback_asks_the_phases_which_rebuild_from_the_cohort(throwaway):
    steps = {"preflight:backup": {"status": "ok"}, "phase1:2026-03-01": {"status": "ok"},
             "phase1.5": {"status": "ok"}, "throwaway:marts": {"status": "ok"}}
    assert rebuilt_from_cohort(steps) == ["throwaway:marts"]
    assert rebuilt_from_cohort({**steps, "throwaway:marts": {"status": "failed"}}) == []
    assert rebuilt_from_cohort({"phase2:1/2": {"status": "ok"}, "phase3": {"status": "ok"},
                                "phase0.5": {"status": "ok"}}) == ["phase2:1/2", "phase3"]


def test_a_step_keyed_outside_its_phase_is_refused_when_the_steps_are_built(monkeypatch):
    stray = Phase("throwaway", "Throwaway", lambda plan, graph: [
        Step(key="recount", phase="throwaway", title="recount", statements=(), action=lambda ctx: None)])
    monkeypatch.setattr(phases, "PHASES", (*phases.PHASES, stray))
    graph = project()
    with pytest.raises(ValueError, match="throwaway: step\\(s\\) recount must"):
        phases.all_steps(plan_of(graph, scope_of(graph)), graph)


def test_a_plan_with_models_no_phase_can_repair_refuses_in_its_first_journaled_step(tmp_path):
    graph = project()
    scope = scope_of(graph)
    problem = PreflightProblem("lineage", "consumer", "its incremental window ignores price_lookback_days")
    specs = {graph.nodes[uid].name: lookback_specs(WINDOW.today, WINDOW.lookback_days, []) for uid in scope.repulled}
    refused = plan_of(graph, scope, Repairs(specs=specs, refused=[problem]))
    assert "preflight:refusals" not in [s.key for s in phases.all_steps(plan_of(graph, scope), graph)]
    (first_phase, (first, *_)), *_ = phases.planned(refused, graph)
    assert (first_phase.key, first.key, first.statements) == ("preflight", "preflight:refusals", ())

    journal = JournalStore(tmp_path).start(refused.run_id, {}, "python -m refill run")
    report = RunReport(plan={})
    ctx = RunContext(plan=refused, session=None, manifest=None, graph=graph)
    with pytest.raises(PreflightRefused) as raised:
        execute(ctx, [(first_phase, [first])], report, journal)
    assert raised.value.problems == [problem]
    entry = JournalStore(tmp_path).load(refused.run_id).data["steps"]["preflight:refusals"]
    assert entry["status"] == "failed" and entry["details"] == {"problems": [problem.as_dict()]}


def test_a_refusal_after_the_backup_leaves_the_run_pending_to_resume_or_roll_back(tmp_path):
    from refill.errors import CheckFailed
    from refill.run.orchestrator import ended_status

    refusal = PreflightRefused([PreflightProblem("lineage", "consumer", "ignores price_lookback_days")])
    store = JournalStore(tmp_path)
    fresh = store.start("run-a", {}, "python -m refill run")
    assert ended_status(refusal, fresh) == "refused"
    assert ended_status(CheckFailed("canary failed"), fresh) == "failed"
    fresh.finish(ended_status(refusal, fresh))
    resumed = store.start("run-b", {}, "python -m refill run")
    resumed.record_step("preflight:backup", "ok", 1.0)
    resumed.record_step("phase1:2026-03-01", "ok", 9.0)
    assert ended_status(refusal, resumed) == "failed"
    resumed.finish(ended_status(refusal, resumed))
    assert [j.run_id for j in store.pending()] == ["run-b"]
