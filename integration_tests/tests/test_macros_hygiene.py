"""The dbt package's shape (issue #3, item 8): every public macro a thin dispatcher with a
default__ implementation, one macro per file named after it, each documented with every
argument and an example. Static: reads the package's files, no engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_DIRS = ("hooks", "incremental", "maintenance", "checks", "observability")
MACRO = re.compile(r"{%-?\s*(macro|test)\s+(\w+)\s*\(([^)]*)\)\s*-?%}")


def _signature(arguments: str) -> list[str]:
    return [a.split("=")[0].strip() for a in arguments.split(",") if a.strip()]


def _definitions(path: Path) -> dict[str, list[str]]:
    return {name: _signature(args) for _, name, args in MACRO.findall(path.read_text())}


def _documented() -> dict[str, dict]:
    docs = {}
    for path in (ROOT / "macros").rglob("*.yml"):
        for entry in yaml.safe_load(path.read_text())["macros"]:
            docs[entry["name"]] = entry
    return docs


PUBLIC = sorted(p for d in PUBLIC_DIRS for p in (ROOT / "macros" / d).glob("*.sql") if not p.stem.startswith("test_"))


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_public_macro_is_a_dispatcher_named_after_its_file(path):
    name = path.stem
    defined = _definitions(path)
    assert set(defined) == {name, f"default__{name}"}, "one public macro per file, plus its default__"
    assert defined[f"default__{name}"] == defined[name]
    call = ", ".join(defined[name])
    assert f"{{{{ return(adapter.dispatch('{name}', 'refill')({call})) }}}}" in path.read_text()


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "generic").glob("*.sql")), ids=lambda p: p.stem)
def test_generic_test_dispatches_to_an_implementation_in_macros(path):
    name = path.stem
    (kind, test_name, args), = MACRO.findall(path.read_text())
    assert (kind, test_name) == ("test", name)
    implementation = _definitions(ROOT / "macros" / "checks" / f"test_{name}.sql")
    assert implementation == {f"default__test_{name}": _signature(args)}
    assert f"adapter.dispatch('test_{name}', 'refill')" in path.read_text()


def test_every_public_macro_and_generic_test_is_documented_with_every_argument():
    docs = _documented()
    expected = {p.stem: _definitions(p)[p.stem] for p in PUBLIC}
    for path in (ROOT / "tests" / "generic").glob("*.sql"):
        (_, name, args), = MACRO.findall(path.read_text())
        expected[f"test_{name}"] = _signature(args)
    assert set(expected) <= set(docs), sorted(set(expected) - set(docs))
    for name, arguments in expected.items():
        entry = docs[name]
        assert [a["name"] for a in entry.get("arguments", [])] == arguments, name
        assert all(a.get("description") for a in entry.get("arguments", [])), name
        assert "Example" in entry["description"], name


def test_internal_helpers_are_one_per_file_named_after_it():
    for path in (ROOT / "macros" / "_internal").glob("*.sql"):
        assert list(_definitions(path)) == [path.stem], path.name
