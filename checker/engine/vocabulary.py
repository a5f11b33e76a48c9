"""The names a rule may use for fact kinds and page roles, each read from the one place that declares it.

Fact kinds are the ones the extractors document (each extractor module's docstring lists its kinds, as
"Fact kinds:" followed by "- `kind`: ..." items, or as "Fact kind `kind`: ..."). Page roles are the roles of
`rules/reference/page_roles.yaml`, plus the two the crawler gives outside that table.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

from rxcheck.reference import Reference

CRAWLER_ROLES = ("home", "other")  # the start page, and a page no role of the table fits
KIND_ITEM = re.compile(r"^\s*- `([a-z_]+)`:", re.M)
KIND_INLINE = re.compile(r"Fact kind `([a-z_]+)`")


@lru_cache(maxsize=1)
def fact_kinds() -> frozenset[str]:
    """Every fact kind some extractor documents."""
    from rxcheck.facts.extract import EXTRACTORS

    kinds: set[str] = set()
    for module_name in dict.fromkeys(extractor.__module__ for extractor in EXTRACTORS):
        doc = sys.modules[module_name].__doc__ or ""
        kinds.update(KIND_INLINE.findall(doc))
        if "Fact kinds:" in doc:
            kinds.update(KIND_ITEM.findall(doc.split("Fact kinds:", 1)[1]))
    return frozenset(kinds)


def page_roles(reference: Reference) -> frozenset[str]:
    """Every role a page can have: the roles of `page_roles.yaml`, `home` and `other`."""
    table = reference.get("page_roles") or {}
    roles = table.get("roles") if isinstance(table, dict) else None
    return frozenset(roles if isinstance(roles, dict) else ()) | frozenset(CRAWLER_ROLES)
