"""``model_lineage.grain``: a weekly grain inherited through the models that read it, each
model's SQL traced once per column however many models ask (``memo``)."""

from __future__ import annotations

from refill.lineage import model_lineage
from refill.lineage.model_lineage import ModelLineage
from refill.lineage.price_lineage import PriceDependence

WEEKLY = "SELECT toStartOfWeek(day, 1) AS week, sum(v) AS v FROM db.daily GROUP BY week"
READS_WEEKLY = "SELECT week, v * 2 AS v FROM db.weekly"


def model(name: str, sql: str) -> ModelLineage:
    return ModelLineage(name=name, database="db", table=name, dependence=PriceDependence(), sql=sql, keys=())


MODELS = {"weekly": model("weekly", WEEKLY),
          **{f"reader_{i}": model(f"reader_{i}", READS_WEEKLY) for i in range(3)}}
SCHEMA = {"db": {"daily": {"day": "Date", "v": "Float64"}, "weekly": {"week": "Date", "v": "Float64"}}}
RELATIONS = {("db", name): name for name in MODELS}


def test_a_reader_of_a_weekly_model_inherits_its_week():
    found = model_lineage.grain(MODELS, SCHEMA, RELATIONS, "reader_0", "week")
    assert found.unit == "week", found
    assert found == model_lineage.grain(MODELS, SCHEMA, RELATIONS, "weekly", "week")


def test_a_shared_memo_traces_each_model_column_once(monkeypatch):
    traced = []
    real = model_lineage.grain_of

    def counting(sql, column, schema, tree=None):
        traced.append((sql, column))
        return real(sql, column, schema, tree=tree)
    monkeypatch.setattr(model_lineage, "grain_of", counting)
    memo: dict = {}
    answers = [model_lineage.grain(MODELS, SCHEMA, RELATIONS, f"reader_{i}", "week", memo=memo) for i in range(3)]
    assert len({a.unit for a in answers}) == 1 and answers[0].unit == "week"
    # three readers and the weekly model they share: four traces, not six
    assert sorted(traced) == sorted([(READS_WEEKLY, "week")] * 3 + [(WEEKLY, "week")])
    assert model_lineage.grain(MODELS, SCHEMA, RELATIONS, "reader_2", "week", memo=memo) == answers[2]
    assert len(traced) == 4
