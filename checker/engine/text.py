"""Phrase and pattern matching over page text, aware of negation, questions, quotations and warnings.

A match is `asserted` only when the page states it: "no prescription needed" is asserted; "we never sell
without a prescription" is `negated`; "Can I buy it without a prescription?" is a `question`; ads quoted as
"no prescription needed" are `quoted`; "beware of sites that sell without a prescription" is a `warning`.
The classification is `checker.language`, shared with the fact extractors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import re2

from rxcheck import regex
from rxcheck.language import Language, heading_context, sentence_spans
from rxcheck.lexicon import TermMatcher
from rxcheck.parse import Block
from rxcheck.snapshot import Page

RE2_OPTIONS = re2.Options()
RE2_OPTIONS.case_sensitive = False
RE2_OPTIONS.max_mem = 64 << 20
RE2_OPTIONS.log_errors = False


def phrase_pattern(phrase: str) -> str:
    """A phrase as RE2, any whitespace or hyphen between its words. Whole words are checked by `whole_word`."""
    return "(" + r"[\s\-]+".join(re2.escape(w) for w in phrase.split()) + ")"


def whole_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] neither starts nor ends inside a word."""
    return (start == 0 or not text[start - 1].isalnum() or not text[start].isalnum()) and (
        end == len(text) or not text[end].isalnum() or not text[end - 1].isalnum()
    )


@lru_cache(maxsize=4096)
def compile_any(phrases: tuple[str, ...], regexes: tuple[str, ...]) -> regex.Pattern:
    """One RE2 program for a set of phrases and regular expressions (linear time, whatever the input)."""
    parts = [phrase_pattern(p) for p in phrases] + [f"({r})" for r in regexes]
    try:
        return regex.compile("|".join(parts), RE2_OPTIONS)
    except re2.error as exc:
        raise ValueError(f"invalid regular expression: {_reason(exc)}") from None


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> regex.Pattern:
    """One regular expression of a rule pack (a link's href, a host, a fact's `matches`), on RE2."""
    try:
        return regex.compile(pattern, RE2_OPTIONS)
    except re2.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {_reason(exc)}") from None


def _reason(exc: re2.error) -> str:
    reason = exc.args[0] if exc.args else exc
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


class TextProgram:
    """What one `TextMatch` looks for: its phrases and regular expressions (one RE2 program) and its lexicon lists."""

    def __init__(self, program: regex.Pattern | None, lists: Sequence[TermMatcher] = ()) -> None:
        self.program = program
        self.lists = tuple(lists)

    def search(self, text: str) -> bool:
        if not text:
            return False
        return bool(self.program and self.program.search(text)) or any(m.search(text) for m in self.lists)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Whole-word (start, end) hits, in text order."""
        found = []
        if self.program is not None:
            found = [m.span() for m in self.program.finditer(text) if whole_word(text, *m.span())]
        for matcher in self.lists:
            found.extend((hit.start, hit.end) for hit in matcher.finditer(text))
        return sorted(found) if self.lists else found


def text_program(phrases: Sequence[str], regexes: Sequence[str], lists: Sequence[TermMatcher] = ()) -> TextProgram:
    program = compile_any(tuple(phrases), tuple(regexes)) if phrases or regexes else None
    return TextProgram(program, lists)


@dataclass(frozen=True)
class Sentence:
    text: str
    block: Block
    context: str  # heading and page title, the scope of warning cues
    offset: int = 0  # where the sentence starts in its block's text


@dataclass(frozen=True)
class TextHit:
    page: Page
    sentence: Sentence
    start: int
    end: int
    status: str  # asserted | negated | question | quoted | warning


class PageText:
    """A page's text as sentences, each with its heading context. Built once per page, shared by rules; a block is
    cut into sentences the first time a rule's words are in it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.joined = page.text
        self.blocks = list(zip(page.blocks, heading_context(page), strict=True))
        self._sentences: dict[int, list[Sentence]] = {}

    def sentences(self, i: int) -> list[Sentence]:
        """The sentences of the page's i-th block."""
        found = self._sentences.get(i)
        if found is None:
            block, context = self.blocks[i]
            found = self._sentences[i] = [
                Sentence(text=block.text[lo:hi], block=block, context=context, offset=lo)
                for lo, hi in sentence_spans(block.text)
            ]
        return found

    def find(self, program: TextProgram, language: Language) -> Iterator[TextHit]:
        if not program.search(self.joined):
            return
        for i, (block, _) in enumerate(self.blocks):
            if not program.search(block.text):  # the block's own scan, shared with the facts
                continue
            for sentence in self.sentences(i):
                for start, end in program.spans(sentence.text):
                    # judged in the whole block, where a quotation may have opened a sentence or two before
                    at = sentence.offset
                    status = language.status(sentence.block.text, at + start, at + end, sentence.context)
                    yield TextHit(self.page, sentence, start, end, status)
