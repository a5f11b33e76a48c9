"""Phrase and pattern matching over page text, aware of negation, questions, quotations and warnings.

A match is `asserted` only when the page states it: "no prescription needed" is asserted; "we never sell
without a prescription" is `negated`; "Can I buy it without a prescription?" is a `question`; ads quoted as
"no prescription needed" are `quoted`; "beware of sites that sell without a prescription" is a `warning`.
The cue words live in `rules/reference/language.yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import re2

from checker.parse import Block
from checker.snapshot import Page

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
WORD = re.compile(r"[\w'’]+", re.UNICODE)
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
RE2_OPTIONS = re2.Options()
RE2_OPTIONS.case_sensitive = False
RE2_OPTIONS.max_mem = 64 << 20
RE2_OPTIONS.log_errors = False


def phrase_pattern(phrase: str) -> str:
    """A phrase as RE2, any whitespace or hyphen between its words. Whole words are checked by `whole_word`."""
    return "(" + r"[\s\-]+".join(re.escape(w) for w in phrase.split()) + ")"


def whole_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] neither starts nor ends inside a word."""
    return (start == 0 or not text[start - 1].isalnum() or not text[start].isalnum()) and (
        end == len(text) or not text[end].isalnum() or not text[end - 1].isalnum()
    )


@lru_cache(maxsize=4096)
def compile_any(phrases: tuple[str, ...], regexes: tuple[str, ...]) -> re2._Regexp:
    """One RE2 program for a set of phrases and regular expressions (linear time, whatever the input)."""
    parts = [phrase_pattern(p) for p in phrases] + [f"({r})" for r in regexes]
    try:
        return re2.compile("|".join(parts), RE2_OPTIONS)
    except re2.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None


@dataclass(frozen=True)
class Sentence:
    text: str
    block: Block
    context: str  # heading and page title, lowercased, for warning cues


@dataclass(frozen=True)
class TextHit:
    page: Page
    sentence: Sentence
    start: int
    end: int
    status: str  # asserted | negated | question | quoted | warning


class Language:
    """The cue words, compiled once per rule pack."""

    def __init__(self, table: dict | None) -> None:
        table = table or {}
        self.window = int(table.get("negation_window", 5))
        self.negation = {w.lower() for w in table.get("negation", [])}
        breaks = table.get("clause_breaks", [",", ";", ":"])
        self.clause_break = re.compile("|".join(re.escape(b) for b in sorted(breaks, key=len, reverse=True)))
        warning = sorted(table.get("warning", []), key=len, reverse=True)
        self.warning = re.compile(r"(?<![\w])(?:" + "|".join(re.escape(w) for w in warning) + ")", re.I) if warning else None
        self.quotes = "".join(table.get("quote_marks", ['"', "“", "”"]))

    def is_warning(self, text: str) -> bool:
        return bool(self.warning and self.warning.search(text))

    def is_negated(self, before: str) -> bool:
        clause = self.clause_break.split(before)[-1]
        words = WORD.findall(clause.lower())[-self.window :]
        return any(
            word in self.negation or word.endswith(("n't", "n’t")) or word.startswith(("n'", "n’")) for word in words
        )

    def classify(self, sentence: Sentence, start: int, end: int) -> str:
        text = sentence.text
        before = text[:start]
        if self.is_negated(before):
            return "negated"
        if sum(before.count(q) for q in self.quotes) % 2 == 1:
            return "quoted"
        if self.is_warning(text) or self.is_warning(sentence.context):
            return "warning"
        if text.rstrip().endswith("?"):
            return "question"
        return "asserted"


class PageText:
    """A page's text as sentences, each with its heading context. Built once per page, shared by rules."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.joined = page.text
        self.sentences: list[Sentence] = []
        heading = ""
        title = page.title.lower()
        for block in page.blocks:
            if block.tag in HEADING_TAGS:
                heading = block.text.lower()
            context = f"{heading} | {title}" if block.tag not in HEADING_TAGS else title
            for piece in SENTENCE_END.split(block.text):
                if piece.strip():
                    self.sentences.append(Sentence(text=piece.strip(), block=block, context=context))

    def find(self, program: re2._Regexp, language: Language) -> Iterator[TextHit]:
        if not program.search(self.joined):
            return
        for sentence in self.sentences:
            for match in program.finditer(sentence.text):
                start, end = match.span()
                if whole_word(sentence.text, start, end):
                    yield TextHit(self.page, sentence, start, end, language.classify(sentence, start, end))


def snippet(text: str, start: int = 0, end: int | None = None, limit: int = 300) -> str:
    """The text around a match, cut to `limit` characters at word boundaries."""
    if len(text) <= limit:
        return text
    end = len(text) if end is None else end
    middle = (start + end) // 2
    lo = max(0, middle - limit // 2)
    hi = min(len(text), lo + limit)
    lo = max(0, hi - limit)
    cut = text[lo:hi]
    if lo > 0:
        cut = "…" + cut.split(" ", 1)[-1]
    if hi < len(text):
        cut = cut.rsplit(" ", 1)[0] + "…"
    return cut

