"""Facts: what a site states about itself, extracted once per site and shared by every rule.

Each extractor module (`domain`, `licences`, `contact`, `prices`, ...) turns a `Site` into `Fact`s of a few kinds.
A fact has a `kind`, a main `value`, named `attrs`, and the `evidence` (page, snippet, locator) that shows it.
Rules compare facts by kind and attribute (see `checker.engine`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rxcheck.result import Evidence, Note


@dataclass(frozen=True)
class Fact:
    kind: str
    value: Any
    attrs: Mapping[str, Any] = field(default_factory=dict)
    evidence: Evidence | None = None

    def get(self, name: str) -> Any:
        """`value` or an attribute; dotted names reach into nested mappings."""
        if name == "value":
            return self.value
        current: Any = self.attrs
        for part in name.split("."):
            if not isinstance(current, Mapping) or part not in current:
                return None
            current = current[part]
        return current


class Facts:
    """All facts of one site, by kind."""

    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        self._by_kind: dict[str, list[Fact]] = defaultdict(list)
        self.notes: list[Note] = []  # extractors that failed on this site
        for fact in facts:
            self.add(fact)

    def add(self, fact: Fact) -> None:
        self._by_kind[fact.kind].append(fact)

    def extend(self, facts: Iterable[Fact]) -> None:
        for fact in facts:
            self.add(fact)

    def of(self, kind: str) -> list[Fact]:
        return self._by_kind.get(kind, [])

    def first(self, kind: str) -> Fact | None:
        found = self.of(kind)
        return found[0] if found else None

    def kinds(self) -> list[str]:
        return sorted(kind for kind, items in self._by_kind.items() if items)

    def __iter__(self):
        for items in self._by_kind.values():
            yield from items

    def __len__(self) -> int:
        return sum(len(items) for items in self._by_kind.values())
