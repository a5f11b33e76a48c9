"""What a sentence asserts: the one mechanism rules and fact extractors share for negation and scope.

A phrase found in page text is `asserted` only when the page states it. It is `negated` when a negation cue comes
shortly before it in the same clause ("we never sell without a prescription") or a refusal follows it ("Bitcoin is not
accepted"); `quoted` inside quotation marks (ads quoted by a news article); a `warning` when the sentence, its heading
or the page title warns about or reports on the practice ("beware of sites that sell without a prescription",
"How to spot a fake pharmacy"); a `question` when its sentence asks. The cue words are data, in the pack's
lexicon (`rules/reference/lexicon/<lang>.yaml`); `rules/reference/language.yaml` holds the structure (window sizes,
clause marks, quote marks).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from functools import lru_cache
from typing import TYPE_CHECKING

from rxcheck.snapshot import Page

if TYPE_CHECKING:
    from rxcheck.lexicon import Lexicon

# A sentence ends at a line break, a " | " separator, or [.!?…] and a space before what can open a sentence: a
# capital letter of any script, a digit, or an opening mark (¿ and ¡ open Spanish questions and exclamations).
SENTENCE_BREAK = re.compile(r"(?P<stop>(?<=[.!?…])\s+(?=\S))|\s*\n\s*|\s+\|\s+")
SENTENCE_OPENERS = frozenset('"“„«¿¡(')
WORD = re.compile(r"[\w'’]+")
SNIPPET_LIMIT = 300
GUILLEMET = re.compile("[«»‹›]")
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def fold(text: str) -> str:
    """Lowercase and strip accents, keeping every character in place (same length), so offsets still apply."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLDED)


class _FoldTable(dict):
    """Code point -> folded character, for `str.translate`, each worked out the first time it is met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0].lower()
        folded = self[code] = base if len(base) == 1 else char
        return folded


_FOLDED = _FoldTable()


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence of `text` that holds text[start:end]."""
    starts, ends = _breaks(text)
    before = bisect_right(ends, start)  # breaks that end at or before the phrase
    lo = ends[before - 1] if before else 0
    after = bisect_left(starts, end)  # the first break that starts at or after the phrase's end
    hi = starts[after] if after < len(starts) else len(text)
    return lo, hi


@lru_cache(maxsize=16)
def _breaks(text: str) -> tuple[list[int], list[int]]:
    """Start and end offsets of the sentence breaks in a text, found once for all the phrases in it."""
    spans = [m.span() for m in SENTENCE_BREAK.finditer(text) if not m.group("stop") or _opens_sentence(text, m)]
    return [s for s, _ in spans], [e for _, e in spans]


def _opens_sentence(text: str, gap: re.Match[str]) -> bool:
    after = text[gap.end()]
    return "\n" in gap.group() or after.isupper() or after.isdigit() or after in SENTENCE_OPENERS


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
    return [text[lo:hi] for lo, hi in sentence_spans(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of a text is, without the spaces around it."""
    starts, ends = _breaks(text)
    spans = []
    for lo, hi in zip([0, *ends], [*starts, len(text)], strict=True):
        piece = text[lo:hi]
        if piece.strip():
            first = lo + len(piece) - len(piece.lstrip())
            spans.append((first, first + len(piece.strip())))
    return spans


class Language:
    """The assertion cues of one rule pack: structure from `language.yaml`, words from the lexicon lists
    `negation`, `clause_break`, `refusal` and `warning`."""

    def __init__(self, table: dict | None, lexicon: Lexicon) -> None:
        table = table or {}
        self.window = int(table.get("negation_window", 6))
        self.refusal_reach = int(table.get("refusal_reach", 40))
        self.clause_marks = tuple(table.get("clause_marks", [",", ";", ":", " - ", " – ", " — "]))
        self.quotes = frozenset(table.get("quote_marks", ['"', "“", "”"]))
        self.quote_reach = int(table.get("quote_reach", 400))
        self.negation = lexicon.matcher("negation")
        self.clause_break = lexicon.matcher("clause_break")
        self.refusal = lexicon.matcher("refusal")
        self.warning = lexicon.matcher("warning")

    def is_warning(self, text: str) -> bool:
        return bool(text) and self.warning.search(text)

    def _open_quotes(self, text: str, lo: int, start: int) -> int:
        """Quote marks before the phrase in its sentence (text[lo:start]); apostrophes left out."""
        marks = _quote_marks(text, self.quotes)
        return bisect_left(marks, start) - bisect_left(marks, lo)

    def _inside_long_quote(self, text: str, start: int) -> bool:
        """Whether text[start] sits inside a quotation opened in an earlier sentence of the block and closed after it,
        within `quote_reach` characters ("Ozempic 1 mg desde 69 €. Sin receta, solo un cuestionario.")."""
        marks = _quote_marks(text, self.quotes)
        before = bisect_left(marks, start)
        return before % 2 == 1 and before < len(marks) and marks[before] - marks[before - 1] <= self.quote_reach

    def _clause_before(self, text: str, lo: int, start: int) -> str:
        """The part of the phrase's clause before it, cut at the last clause mark or clause-break word."""
        before = text[lo:start]
        cut = max((before.rfind(mark) + len(mark) for mark in self.clause_marks if mark in before), default=0)
        ends = [hit.end for hit in self.clause_break.finditer(before[cut:])]
        return before[cut + ends[-1] :] if ends else before[cut:]

    def negated_before(self, clause: str) -> bool:
        """A negation cue among the last `window` words of the clause."""
        words = list(WORD.finditer(clause))[-self.window :]
        return bool(words) and self.negation.search(clause[words[0].start() :])

    def refused_after(self, after: str) -> bool:
        """A refusal ("is not accepted") soon after the phrase, before the clause ends."""
        cut = min((i for i in (after.find(c) for c in ".;:!?") if i >= 0), default=len(after))
        return any(hit.start <= self.refusal_reach for hit in self.refusal.finditer(after[:cut]))

    def status(self, text: str, start: int, end: int, context: str = "") -> str:
        """asserted | negated | quoted | warning | question for the phrase at text[start:end]."""
        lo, hi = sentence_bounds(text, start, end)
        if self.negated_before(self._clause_before(text, lo, start)):
            return "negated"
        if self.refused_after(text[end:hi]):
            return "negated"
        if (
            self._open_quotes(text, lo, start) % 2 == 1
            or self._inside_long_quote(text, start)
            or _inside_guillemets(text, start)
        ):
            return "quoted"
        sentence = text[lo:hi]
        if self.is_warning(sentence) or self.is_warning(context):
            return "warning"
        if sentence.rstrip().endswith("?"):
            return "question"
        return "asserted"


def _inside_guillemets(text: str, start: int) -> bool:
    """Whether text[start] sits inside « » (or ‹ ›) opened earlier in the block: quotations that run over several
    sentences («Ozempic sin receta, 60 €. Envío discreto a toda España»). Guillemets, unlike straight and curly
    quotes, say which way they face."""
    positions, depths = _guillemet_depths(text)
    at = bisect_left(positions, start)
    return at > 0 and depths[at - 1] > 0


@lru_cache(maxsize=256)
def _quote_marks(text: str, quotes: frozenset[str]) -> list[int]:
    """Where the block's quote marks are, found once per text; apostrophes (a mark between letters) left out."""
    return [
        i
        for i, char in enumerate(text)
        if char in quotes and not (0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha())
    ]


@lru_cache(maxsize=256)
def _guillemet_depths(text: str) -> tuple[list[int], list[int]]:
    """Each guillemet's position in the text and the quotation depth just after it, found once per text (a block
    with many phrases asks many times)."""
    positions: list[int] = []
    depths: list[int] = []
    depth = 0
    for match in GUILLEMET.finditer(text):
        depth = depth + 1 if match.group() in "«‹" else max(0, depth - 1)
        positions.append(match.start())
        depths.append(depth)
    return positions, depths


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
