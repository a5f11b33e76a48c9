"""Helpers shared by the fact extractors: evidence snippets and term patterns (text folding and the assertion
status of a phrase come from `checker.language`).

Nothing here knows about a particular kind of fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import re2

from rxcheck import regex
from rxcheck.language import fold, heading_context, sentence_bounds, snippet
from rxcheck.lexicon import group_spans
from rxcheck.parse import Block, Located
from rxcheck.result import Evidence
from rxcheck.snapshot import Page, Site

PRICE_HINT = re.compile(
    r"(?:[$£€₹¥]|\b(?:USD|EUR|GBP|CAD|AUD|CHF|INR)\b)\s?\d|\d(?:[.,]\d{2})?\s?(?:[€£$]|\b(?:EUR|USD|GBP|CHF)\b)"
)
RE2_OPTIONS = re2.Options()
RE2_OPTIONS.max_mem = 32 << 20


def evidence(page: Page, text: str, where: Located | str, start: int = 0, end: int | None = None) -> Evidence:
    """Evidence of text[start:end] on the page, found `where` (a block or link, or a locator as written): a
    block's locator is worked out here, for the few blocks that give a fact."""
    locator = where if isinstance(where, str) else where.locator
    return Evidence(url=page.final_url, snippet=snippet(text, start, end), locator=locator)


def page_blocks(site: Site) -> Iterator[tuple[Page, Block]]:
    """Every text block of every HTML page, in page order."""
    for page in site.html_pages():
        for block in page.blocks:
            yield page, block


def terms_pattern(terms: Iterable[str]) -> regex.Pattern | None:
    """One RE2 program matching any of `terms` as whole words in `fold`ed text (longest first)."""
    folded = sorted({fold(t.strip()) for t in terms if t and t.strip()}, key=len, reverse=True)
    if not folded:
        return None
    alternatives = "|".join(r"[\s\-]+".join(re2.escape(w) for w in term.split()) for term in folded)
    return regex.compile(r"(?:^|[^a-z0-9])(" + alternatives + r")(?:$|[^a-z])", RE2_OPTIONS)


def find_terms(pattern: regex.Pattern | None, folded: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, matched folded text) for each whole-word hit of a `terms_pattern` in folded text."""
    if pattern is None:
        return
    for start, end in group_spans(pattern, folded):
        yield start, end, " ".join(folded[start:end].replace("-", " ").split())


__all__ = [
    "PRICE_HINT", "RE2_OPTIONS", "evidence", "find_terms", "fold", "heading_context", "page_blocks",
    "sentence_bounds", "snippet", "terms_pattern",
]  # fmt: skip
