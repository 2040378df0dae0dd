"""What watches a run as it goes: the ``RunObserver`` protocol that ``orchestrator.execute``
calls at each phase and step, and the terminal's observer (banners, step lines, the
progress line). A benchmark or a test passes its own instead of patching the orchestrator."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol, Sequence

from refill import render
from refill.run.progress import Progress, say

if TYPE_CHECKING:
    from refill.run.phases.context import Phase, Step, StepResult


class RunObserver(Protocol):
    """Told of a run's phases and steps, in order. An observer may subclass this protocol to
    inherit a method it has no use for (each does nothing). A step that raises ends the run
    (its error propagates, the journal has it as failed): neither ``step_finished`` nor
    ``phase_finished`` is called for it."""

    def phase_started(self, phase: "Phase", steps: Sequence["Step"], models: Sequence[str]) -> None:
        """``phase`` begins with ``steps``; ``models``: the model executions its dbt runs make
        (``Phase.models``; empty when it counts steps)."""

    def step_started(self, step: "Step") -> None:
        """``step``'s action is about to run (not called for a step skipped as done)."""

    def step_finished(self, step: "Step", result: "StepResult") -> None:
        """``step`` ended and the journal has it: ``result.status`` is ``ok``, or ``skipped``
        (done by an earlier attempt); ``result.seconds`` its action's time."""

    def phase_finished(self, phase: "Phase") -> None:
        """Every step of ``phase`` ended ``ok`` or ``skipped``."""


class Observers(RunObserver):
    """Several observers, each told in the order given."""

    def __init__(self, *observers: RunObserver) -> None:
        self.observers = observers

    def phase_started(self, phase, steps, models) -> None:
        for observer in self.observers:
            observer.phase_started(phase, steps, models)

    def step_started(self, step) -> None:
        for observer in self.observers:
            observer.step_started(step)

    def step_finished(self, step, result) -> None:
        for observer in self.observers:
            observer.step_finished(step, result)

    def phase_finished(self, phase) -> None:
        for observer in self.observers:
            observer.phase_finished(phase)


class TerminalObserver(RunObserver):
    """What the operator sees: a banner per phase, a line per step done or skipped (with the
    phase's elapsed seconds), and ``progress``'s line, redrawn on a terminal."""

    def __init__(self, progress: Progress, run_id: str) -> None:
        self.progress = progress
        self.run_id = run_id
        self._phase_started = time.monotonic()

    def phase_started(self, phase, steps, models) -> None:
        self._phase_started = time.monotonic()
        say(render.banner(phase.title))
        self.progress.start_phase(phase.title, models, len(steps))

    def step_finished(self, step, result) -> None:
        if result.status == "skipped":
            say(render.step_skipped(step.key, self.run_id))
        else:
            say(render.step_ok(step.key, result.seconds, time.monotonic() - self._phase_started))
        self.progress.step_done()

    def phase_finished(self, phase) -> None:
        self.progress.end_phase()
