"""Helpers shared by the fact extractors: evidence snippets, text folding, term patterns and assertion cues.

Nothing here knows about a particular kind of fact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import re2

from checker.parse import Block
from checker.reference import Reference
from checker.result import Evidence
from checker.snapshot import Page, Site

SNIPPET_LIMIT = 300
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9ÄÖÜÉÈ\"“(])|\s*\n\s*|\s+\|\s+")
PRICE_HINT = re.compile(
    r"(?:[$£€₹¥]|\b(?:USD|EUR|GBP|CAD|AUD|CHF|INR)\b)\s?\d|\d(?:[.,]\d{2})?\s?(?:[€£$]|\b(?:EUR|USD|GBP|CHF)\b)"
)
RE2_OPTIONS = re2.Options()
RE2_OPTIONS.max_mem = 32 << 20


def fold(text: str) -> str:
    """Lowercase and strip accents, keeping every character in place (same length), so offsets still apply."""
    return "".join(_fold_char(c) for c in text)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base if len(base) == 1 else char


def snippet(text: str, start: int = 0, end: int | None = None, limit: int = SNIPPET_LIMIT) -> str:
    """The sentence around text[start:end], or a window around it, at most `limit` characters."""
    end = start if end is None else end
    if len(text) <= limit:
        return text
    lo, hi = 0, len(text)
    for m in SENTENCE_BREAK.finditer(text):
        if m.end() <= start:
            lo = m.end()
        elif m.start() >= end:
            hi = m.start()
            break
    if hi - lo <= limit:
        return text[lo:hi].strip()
    middle = (start + end) // 2
    lo = max(lo, middle - limit // 2)
    hi = min(hi, lo + limit - 2)
    lo = max(0, min(lo, hi - (limit - 2)))
    cut = text[lo:hi]
    if lo > 0:
        cut = "…" + cut.split(" ", 1)[-1] if " " in cut[:40] else "…" + cut
    if hi < len(text):
        cut = cut.rsplit(" ", 1)[0] + "…" if " " in cut[-40:] else cut + "…"
    return cut[:limit]


def evidence(page: Page, text: str, locator: str, start: int = 0, end: int | None = None) -> Evidence:
    return Evidence(url=page.final_url, snippet=snippet(text, start, end), locator=locator)


def page_blocks(site: Site) -> Iterator[tuple[Page, Block]]:
    """Every text block of every HTML page, in page order."""
    for page in site.html_pages():
        for block in page.blocks:
            yield page, block


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    lo, hi = 0, len(text)
    for m in SENTENCE_BREAK.finditer(text):
        if m.end() <= start:
            lo = m.end()
        elif m.start() >= end:
            hi = m.start()
            break
    return lo, hi


def terms_pattern(terms: Iterable[str]) -> re2._Regexp | None:
    """One RE2 program matching any of `terms` as whole words in `fold`ed text (longest first)."""
    folded = sorted({fold(t.strip()) for t in terms if t and t.strip()}, key=len, reverse=True)
    if not folded:
        return None
    alternatives = "|".join(r"[\s\-]+".join(re2.escape(w) for w in term.split()) for term in folded)
    return re2.compile(r"(?:^|[^a-z0-9])(" + alternatives + r")(?:$|[^a-z])", RE2_OPTIONS)


def find_terms(pattern: re2._Regexp | None, folded: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, matched folded text) for each whole-word hit of a `terms_pattern` in folded text."""
    if pattern is None:
        return
    pos = 0
    while pos <= len(folded):
        m = pattern.search(folded, pos)
        if not m:
            return
        start, end = m.span(1)
        yield start, end, " ".join(folded[start:end].replace("-", " ").split())
        pos = end


# Cue words: `rules/reference/language.yaml` when the pack ships it, else these.
DEFAULT_NEGATION = (
    "not",
    "never",
    "no",
    "cannot",
    "nicht",
    "nie",
    "kein",
    "keine",
    "pas",
    "jamais",
    "niet",
    "nooit",
    "geen",
)
DEFAULT_WARNING = ("beware", "avoid", "red flag", "illegal", "rogue", "fake", "vorsicht", "méfiez", "illégal", "let op")
# Headings of warning lists, added to the pack's cues: "Warnsignale", "Signaux d'alerte", "Waarschuwingssignalen".
EXTRA_WARNING = (
    "warnsignal", "warnsignale", "warnzeichen", "alarmzeichen", "signaux d'alerte", "signes d'alerte",
    "waarschuwingssignalen", "waarschuwingstekens", "alarmsignalen", "warning signs", "red flags",
)  # fmt: skip
DEFAULT_QUOTES = ('"', "“", "”", "„", "«", "»", "‘", "’")
WORD = re.compile(r"[\w'’]+")
MIN_NEGATION_WINDOW = 8  # words: "we do not dispense on the basis of online questionnaires"
NEGATED_AFTER = re.compile(
    r"^[^.;:!?]{0,40}?\b(?:(?:(?:are|is|will\s+be)\s+)?(?:not|no\s+longer|never)\s+(?:accepted|available|possible|"
    r"supported|taken|offered|allowed)|(?:nicht|nie)\s+(?:akzeptiert|m[öo]glich|angeboten|erlaubt)|pas\s+(?:accept|"
    r"possible|propos)|niet\s+(?:geaccepteerd|mogelijk|aangeboden|toegestaan))",
    re.I,
)  # "Card payments and PayPal are not accepted", "Bitcoin ist nicht möglich"


class Cues:
    """Tells whether a sentence asserts a phrase, negates it, asks about it or warns about it."""

    def __init__(self, table: dict | None) -> None:
        table = table or {}
        self.window = max(int(table.get("negation_window", 5)), MIN_NEGATION_WINDOW)
        self.negation = {w.lower() for w in table.get("negation", DEFAULT_NEGATION)}
        breaks = table.get("clause_breaks", [",", ";", ":"])
        self.clause_break = re.compile("|".join(re.escape(b) for b in sorted(breaks, key=len, reverse=True)))
        self.warning = terms_pattern([*table.get("warning", DEFAULT_WARNING), *EXTRA_WARNING])
        self.quotes = set(table.get("quote_marks", DEFAULT_QUOTES))

    def _open_quotes(self, text: str, lo: int, start: int) -> int:
        """Quote marks before the phrase in its sentence, apostrophes (a mark between letters) left out."""
        return sum(
            1
            for i in range(lo, start)
            if text[i] in self.quotes
            and not (0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha())
        )

    def status(self, text: str, start: int, end: int, context: str = "") -> str:
        """asserted | negated | quoted | question | warning for the phrase at text[start:end]."""
        lo, hi = sentence_bounds(text, start, end)
        clause = self.clause_break.split(text[lo:start])[-1]
        words = WORD.findall(clause.lower())[-self.window :]
        if any(w in self.negation or w.endswith(("n't", "n’t")) for w in words) or NEGATED_AFTER.match(text[end:hi]):
            return "negated"
        if self._open_quotes(text, lo, start) % 2 == 1:
            return "quoted"
        sentence = text[lo:hi]
        if self.warning is not None and (self.warning.search(fold(sentence)) or self.warning.search(fold(context))):
            return "warning"
        if sentence.rstrip().endswith("?"):
            return "question"
        return "asserted"


_cues: dict[str, Cues] = {}


def cues(reference: Reference) -> Cues:
    if reference.digest not in _cues:
        _cues[reference.digest] = Cues(reference.get("language"))
    return _cues[reference.digest]


def heading_context(page: Page) -> dict[int, str]:
    """For each block index, the nearest heading above it and the page title (for warning cues)."""
    context: dict[int, str] = {}
    heading = ""
    for i, block in enumerate(page.blocks):
        if block.tag in ("h1", "h2", "h3", "h4"):
            heading = block.text
        context[i] = f"{heading} | {page.title}"
    return context
