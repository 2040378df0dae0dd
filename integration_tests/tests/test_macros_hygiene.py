"""The dbt package's shape (issue #3, item 8; issue #17): every public macro a thin dispatcher
with a default__ implementation, one macro per file named after it, each documented with
every argument and an example; each generic test in one file with its implementation;
private helpers grouped by family in `_internal/`. Static: reads the package's files, no
engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_DIRS = ("hooks", "incremental", "maintenance", "checks", "observability", "materializations")
GENERIC_TESTS = sorted((ROOT / "macros" / "generic_tests").glob("*.sql"))
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


# a materialization is not a macro: refill_swap.sql defines none
PUBLIC = sorted(p for d in PUBLIC_DIRS for p in (ROOT / "macros" / d).glob("*.sql") if _definitions(p))


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_public_macro_is_a_dispatcher_named_after_its_file(path):
    name = path.stem
    defined = _definitions(path)
    assert set(defined) == {name, f"default__{name}"}, "one public macro per file, plus its default__"
    assert defined[f"default__{name}"] == defined[name]
    call = ", ".join(defined[name])
    assert f"{{{{ return(adapter.dispatch('{name}', 'refill')({call})) }}}}" in path.read_text()


@pytest.mark.parametrize("path", GENERIC_TESTS, ids=lambda p: p.stem)
def test_generic_test_and_its_implementation_are_one_file(path):
    name = path.stem
    tests = [(test_name, args) for kind, test_name, args in MACRO.findall(path.read_text()) if kind == "test"]
    assert [test_name for test_name, _ in tests] == [name]
    assert _definitions(path) == {name: _signature(tests[0][1]), f"default__test_{name}": _signature(tests[0][1])}
    assert f"adapter.dispatch('test_{name}', 'refill')" in path.read_text()


def test_generic_tests_live_only_in_macros_generic_tests():
    """dbt reads `{% test %}` blocks from macro-paths too (as dbt-utils ships them); a second
    home under test-paths would define each test twice."""
    assert GENERIC_TESTS
    assert not list((ROOT / "tests").rglob("*.sql"))
    elsewhere = [p for p in (ROOT / "macros").rglob("*.sql")
                 if p.parent.name != "generic_tests" and any(k == "test" for k, _, _ in MACRO.findall(p.read_text()))]
    assert elsewhere == []


def test_every_public_macro_and_generic_test_is_documented_with_every_argument():
    docs = _documented()
    expected = {p.stem: _definitions(p)[p.stem] for p in PUBLIC}
    for path in GENERIC_TESTS:
        for kind, name, args in MACRO.findall(path.read_text()):
            if kind == "test":
                expected[f"test_{name}"] = _signature(args)
    assert set(expected) <= set(docs), sorted(set(expected) - set(docs))
    for name, arguments in expected.items():
        entry = docs[name]
        assert [a["name"] for a in entry.get("arguments", [])] == arguments, name
        assert all(a.get("description") for a in entry.get("arguments", [])), name
        assert "Example" in entry["description"], name


def test_internal_helpers_are_private_and_defined_once():
    """`_internal/` holds small private helpers by family (dbt-clickhouse's utils.sql): each
    named `_…`, never dispatched (Python and the macros call them by name, so an override
    could not change them anyway), and defined in one place in the package."""
    internal = sorted((ROOT / "macros" / "_internal").glob("*.sql"))
    assert internal
    everywhere: dict[str, list[str]] = {}
    for path in (ROOT / "macros").rglob("*.sql"):
        for name in _definitions(path):
            everywhere.setdefault(name, []).append(str(path.relative_to(ROOT)))
    for path in internal:
        names = list(_definitions(path))
        assert names and all(n.startswith("_") for n in names), path.name
        assert "adapter.dispatch" not in path.read_text(), path.name
    duplicated = {name: paths for name, paths in everywhere.items() if len(paths) > 1}
    assert duplicated == {}
