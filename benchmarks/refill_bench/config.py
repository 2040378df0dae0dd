"""What a benchmark run is made of: the project's shape, the data's size, the incident's dates."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from refill.run.plan import Window, make_window

# The seed's day of recovery; every scenario finds its gap on this day.
TODAY = dt.date(2026, 4, 27)
# A gap first day per number of affected months: the seed's own two examples
# (2026-04-17, one month; 2026-03-30, two months) and one four months back.
GAP_BY_MONTHS = {1: dt.date(2026, 4, 17), 2: dt.date(2026, 3, 30), 4: dt.date(2026, 1, 30)}


@dataclass(frozen=True)
class ProjectShape:
    """How many models of which kind the generated project has."""

    models: int = 300
    cohort_size: int = 12
    cohort_layers: int = 3
    seed: int = 7  # the generator's random choices (kinds, predicates, parents)
    # Share of the consumers that read prices (the rest never do: outside Phase 2), and the
    # view/incremental/table weights of each group. The defaults are the first benchmarks'
    # project, where every consumer is a price consumer.
    priced_share: float = 1.0
    priced_kinds: tuple[int, int, int] = (35, 45, 20)
    unpriced_kinds: tuple[int, int, int] = (70, 15, 15)

    def __post_init__(self) -> None:
        if self.cohort_layers < 1 or self.cohort_size < self.cohort_layers:
            raise ValueError(f"a cohort of {self.cohort_size} cannot have {self.cohort_layers} layers")
        if self.models < self.cohort_size + 6:
            raise ValueError(f"{self.models} models leave no room beside a cohort of {self.cohort_size}")
        if not 0 < self.priced_share <= 1:
            raise ValueError(f"priced_share {self.priced_share} is not in (0, 1]")


@dataclass(frozen=True)
class DataShape:
    """Raw feed size: ``scale`` multiplies the lab's wallets and transfers per day."""

    scale: int = 100
    history_start: dt.date = dt.date(2025, 10, 1)


@dataclass(frozen=True)
class Incident:
    """Prices skip ``gap``; the damage is found and repaired on ``today``."""

    gap: dt.date
    today: dt.date = TODAY

    @classmethod
    def spanning(cls, months: int) -> "Incident":
        if months not in GAP_BY_MONTHS:
            raise ValueError(f"no preset gap spans {months} month(s); choose from {sorted(GAP_BY_MONTHS)}")
        return cls(GAP_BY_MONTHS[months])

    @property
    def window(self) -> Window:
        return make_window(from_date=self.gap, today=self.today)


@dataclass(frozen=True)
class Scenario:
    """One measured configuration: both flows, ``repeats`` times each, on the same incident."""

    name: str
    project: ProjectShape = field(default_factory=ProjectShape)
    data: DataShape = field(default_factory=DataShape)
    incident: Incident = field(default_factory=lambda: Incident.spanning(2))
    repeats: int = 3
    threads: int = 2
    series: tuple[str, ...] = ()  # the scaling series this scenario is a point of
    flows: tuple[str, ...] = ("baseline", "refill")  # run in this order (alternated per repeat)
    plan_speed: bool = True  # also time `refill plan` against `dbt ls` (cold, then warm)

    @property
    def months(self) -> int:
        return len(self.incident.window.months)

    def incident_key(self) -> str:
        """Identifies the incident state on disk: same key, same warehouse."""
        identity = json.dumps({"project": asdict(self.project), "data": asdict(self.data),
                               "incident": asdict(self.incident), "threads": self.threads},
                              sort_keys=True, default=str)
        return hashlib.sha256(identity.encode()).hexdigest()[:10]

    def as_dict(self) -> dict:
        return {"name": self.name, "project": asdict(self.project), "flows": list(self.flows),
                "plan_speed": self.plan_speed,
                "data": {"scale": self.data.scale, "history_start": self.data.history_start.isoformat()},
                "gap": self.incident.gap.isoformat(), "today": self.incident.today.isoformat(),
                "months": self.months, "lookback_days": self.incident.window.lookback_days,
                "repeats": self.repeats, "threads": self.threads, "series": list(self.series)}

    @classmethod
    def from_dict(cls, raw: dict) -> "Scenario":
        return cls(
            name=raw["name"],
            project=ProjectShape(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw["project"].items()}),
            data=DataShape(scale=raw["data"]["scale"],
                           history_start=dt.date.fromisoformat(raw["data"]["history_start"])),
            incident=Incident(dt.date.fromisoformat(raw["gap"]), dt.date.fromisoformat(raw["today"])),
            repeats=raw["repeats"],
            threads=raw["threads"],
            series=tuple(raw.get("series", ())),
            flows=tuple(raw.get("flows", ("baseline", "refill"))),
            plan_speed=raw.get("plan_speed", True),
        )


def default_scenarios(repeats: int = 3, scaling_repeats: int = 1) -> list[Scenario]:
    """The headline (300 models, two-month gap, full data) and the scaling series (smaller data)."""
    small = DataShape(scale=25)
    scenarios = [Scenario("headline", repeats=repeats, series=("headline",))]
    scenarios += [Scenario(f"gap-{m}mo", data=small, incident=Incident.spanning(m), repeats=scaling_repeats,
                           series=("months", "models") if m == 2 else ("months",))
                  for m in (1, 2, 4)]
    scenarios += [Scenario(f"models-{n}", project=ProjectShape(models=n), data=small, repeats=scaling_repeats,
                           series=("models",))
                  for n in (100, 1000)]
    scenarios.append(Scenario("models-1250", project=UPSTREAM_SIZE, data=small, repeats=scaling_repeats,
                              series=("models", "upstream")))
    scenarios += [Scenario(f"history-{m}mo", project=ProjectShape(models=100), repeats=scaling_repeats,
                           data=DataShape(scale=25, history_start=months_before(TODAY, m)),
                           series=("history",), flows=("refill", "rebuild"), plan_speed=False)
                  for m in HISTORY_MONTHS]
    return scenarios


# The upstream project's size (gnosischain/dbt-cerebro): about 1,250 models, about 470 of them
# downstream of prices (Phase 2), mostly views and tables, a 12-model cohort in 3 layers.
UPSTREAM_SIZE = ProjectShape(models=1250, priced_share=0.31, priced_kinds=(45, 15, 40))
# History lengths of the full-rebuild comparison, in months before TODAY.
HISTORY_MONTHS = (6, 12, 24)


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` ``months`` calendar months earlier (the same day of the month)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return day.replace(year=year, month=month + 1)


def smoke_scenario() -> Scenario:
    """Seconds-scale: the CI run that keeps the harness from rotting."""
    return Scenario("smoke", project=ProjectShape(models=12, cohort_size=3, cohort_layers=3),
                    data=DataShape(scale=1, history_start=dt.date(2026, 3, 1)),
                    incident=Incident.spanning(1), repeats=1, series=("headline",),
                    # all three flows; not the plan timing (four more dbt processes, for CI's budget)
                    flows=("baseline", "refill", "rebuild"), plan_speed=False)


def with_repeats(scenario: Scenario, repeats: int) -> Scenario:
    return replace(scenario, repeats=repeats)
