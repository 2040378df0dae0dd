"""``noqa`` comments: per line, or for the whole file when on line 1."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from refill.lint.finding import Finding

# `-- noqa`, `-- noqa: RF002`, `{# noqa: RF003, RF004 #}`; a bare noqa silences every code.
_NOQA = re.compile(r"(?:--|\{#-?|/\*)\s*noqa\b(?:\s*:\s*(?P<codes>[A-Za-z]+\d+(?:\s*,\s*[A-Za-z]+\d+)*))?")
ALL = frozenset({"*"})


@dataclass(frozen=True)
class Suppressions:
    by_line: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: str) -> "Suppressions":
        by_line: dict[int, frozenset[str]] = {}
        for number, text in enumerate(source.splitlines(), start=1):
            match = _NOQA.search(text)
            if match:
                codes = match.group("codes")
                by_line[number] = frozenset(c.strip().upper() for c in codes.split(",")) if codes else ALL
        return cls(by_line)

    def silences(self, finding: Finding) -> bool:
        # A comment cannot go inside `{{ config(...) }}`, so line 1 speaks for the whole file.
        return any(_covers(self.by_line.get(line), finding.code) for line in (1, finding.line))


def _covers(codes: frozenset[str] | None, code: str) -> bool:
    return bool(codes) and (codes == ALL or code in codes)
