"""What a sentence asserts: the one mechanism rules and fact extractors share for negation and scope.

A phrase found in page text is `asserted` only when the page states it. It is `negated` when a negation cue comes
shortly before it in the same clause ("we never sell without a prescription") or a refusal follows it ("Bitcoin is not
accepted"); `quoted` inside quotation marks (ads quoted by a news article); a `warning` when the sentence, its heading
or the page title warns about or reports on the practice ("beware of sites that sell without a prescription",
"How to spot a fake pharmacy"); a `question` when its sentence asks. The cue words are data, in
`rules/reference/language.yaml`, in English, German, French and Dutch.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from checker.reference import Reference
from checker.snapshot import Page

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9ÄÖÜÉÈ\"“(])|\s*\n\s*|\s+\|\s+")
WORD = re.compile(r"[\w'’]+")
SNIPPET_LIMIT = 300
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
NEGATED_AFTER = re.compile(
    r"^[^.;:!?]{0,40}?\b(?:(?:(?:are|is|will\s+be)\s+)?(?:not|no\s+longer|never)\s+(?:accepted|available|possible|"
    r"supported|taken|offered|allowed)|(?:nicht|nie)\s+(?:akzeptiert|m[öo]glich|angeboten|erlaubt)|pas\s+(?:accept|"
    r"possible|propos)|niet\s+(?:geaccepteerd|mogelijk|aangeboden|toegestaan))",
    re.I,
)  # "Card payments and PayPal are not accepted", "Bitcoin ist nicht möglich"


def fold(text: str) -> str:
    """Lowercase and strip accents, keeping every character in place (same length), so offsets still apply."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base if len(base) == 1 else char


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence of `text` that holds text[start:end]."""
    lo, hi = 0, len(text)
    for m in SENTENCE_BREAK.finditer(text):
        if m.end() <= start:
            lo = m.end()
        elif m.start() >= end:
            hi = m.start()
            break
    return lo, hi


def snippet(text: str, start: int = 0, end: int | None = None, limit: int = SNIPPET_LIMIT) -> str:
    """The sentence around text[start:end], or a window around it, at most `limit` characters."""
    end = start if end is None else end
    if len(text) <= limit:
        return text
    lo, hi = sentence_bounds(text, start, end)
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


def sentences(text: str) -> list[str]:
    return [piece.strip() for piece in SENTENCE_BREAK.split(text) if piece.strip()]


class Language:
    """The cue words of one rule pack, compiled once."""

    def __init__(self, table: dict | None) -> None:
        table = table or {}
        self.window = int(table.get("negation_window", 6))
        self.negation = {w.lower() for w in table.get("negation", [])}
        breaks = table.get("clause_breaks", [",", ";", ":"])
        self.clause_break = re.compile("|".join(re.escape(b) for b in sorted(breaks, key=len, reverse=True)))
        warning = sorted({fold(w) for w in table.get("warning", [])}, key=len, reverse=True)
        self.warning = re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, warning)) + ")") if warning else None
        self.quotes = set(table.get("quote_marks", ['"', "“", "”"]))

    def is_warning(self, text: str) -> bool:
        return bool(self.warning and text and self.warning.search(fold(text)))

    def _open_quotes(self, text: str, lo: int, start: int) -> int:
        """Quote marks before the phrase in its sentence; apostrophes (a mark between letters) left out."""
        return sum(
            1
            for i in range(lo, start)
            if text[i] in self.quotes
            and not (0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha())
        )

    def status(self, text: str, start: int, end: int, context: str = "") -> str:
        """asserted | negated | quoted | warning | question for the phrase at text[start:end]."""
        lo, hi = sentence_bounds(text, start, end)
        clause = self.clause_break.split(text[lo:start])[-1]
        words = WORD.findall(clause.lower())[-self.window :]
        if any(w in self.negation or w.endswith(("n't", "n’t")) or w.startswith(("n'", "n’")) for w in words):
            return "negated"
        if NEGATED_AFTER.match(text[end:hi]):
            return "negated"
        if self._open_quotes(text, lo, start) % 2 == 1:
            return "quoted"
        sentence = text[lo:hi]
        if self.is_warning(sentence) or self.is_warning(context):
            return "warning"
        if sentence.rstrip().endswith("?"):
            return "question"
        return "asserted"


_by_digest: dict[str, Language] = {}


def language_of(reference: Reference) -> Language:
    """The pack's Language, compiled once per reference data version."""
    if reference.digest not in _by_digest:
        _by_digest[reference.digest] = Language(reference.get("language"))
    return _by_digest[reference.digest]


def heading_context(page: Page) -> list[str]:
    """For each block of the page, the nearest heading above it and the page title (the scope of warning cues).

    Worked out once per page and shared by every extractor and rule."""
    cached = page.__dict__.get("_heading_context")
    if cached is not None:
        return cached
    context: list[str] = []
    heading = ""
    for block in page.blocks:
        if block.tag in HEADING_TAGS:
            heading = block.text
            context.append(page.title)
        else:
            context.append(f"{heading} | {page.title}")
    page.__dict__["_heading_context"] = context
    return context
