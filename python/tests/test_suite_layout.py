"""The suite's own layout: pytest imports test modules by basename (rootdir-relative
``prepend`` mode), so two ``test_x.py`` in different folders stop the whole collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_two_test_modules_share_a_basename():
    names = Counter(path.name for folder in ("python/tests", "integration_tests/tests")
                    for path in (ROOT / folder).rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
