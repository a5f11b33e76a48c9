"""The pack's vocabulary: named term lists, one file per language, each list compiled once into one RE2 program.

`rules/reference/lexicon/<lang>.yaml` maps list names to terms. A term is either

- a plain phrase (`buy now`): matched case- and accent-insensitively, as whole words, with any whitespace or hyphen
  between its words (and either apostrophe, ' or ’). A `*` at the end of a word lets that word go on
  (`fake pharmac*` finds "fake pharmacy" and "fake pharmacies", `warenkorb*` "Warenkorbs"); or
- a regular expression in RE2 syntax (`{re: "\\d+ ?mg"}`), for the few terms whose structure matters (digits, an
  optional word). It runs on folded text (lowercase, accents removed), so write it in lowercase without accents; it
  is matched as whole words too.

A list holds the terms of every language: `matcher("cart")` finds English, German, French and Dutch cart words in
one pass. A local pack's `reference/lexicon/<lang>.yaml` adds terms to the lists of the same name and may add new
lists; it never removes bundled terms.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import ahocorasick
import re2

from rxcheck import regex
from rxcheck.errors import RuleError
from rxcheck.language import fold
from rxcheck.safeyaml import load_yaml

OPTIONS = re2.Options()
OPTIONS.case_sensitive = False
OPTIONS.longest_match = True
OPTIONS.max_mem = 64 << 20
OPTIONS.log_errors = False
BOUNDARY = r"[^\pL\pN]"
GAP = r"(?:[\s\-]+)"
APOSTROPHES = "'’"
SPLIT = regex.compile(r"[\s\-]+")


class UnknownList(LookupError):
    """Code asked for a term list that no lexicon file defines (a programming error)."""


@dataclass(frozen=True)
class Hit:
    start: int  # offsets into the original text
    end: int
    term: str  # the term as written in the lexicon file
    language: str


@dataclass(frozen=True)
class Term:
    text: str  # as written: the phrase, or the regular expression
    language: str
    regex: bool = False


def _phrase_key(text: str) -> str:
    """How a phrase and the text it matched are compared: folded, one space between words, one apostrophe."""
    return " ".join(SPLIT.split(fold(text).replace("’", "'").strip()))


def _phrase_pattern(phrase: str) -> str:
    words = _phrase_key(phrase).split(" ")
    return GAP.join(_word_pattern(word) for word in words)


def _word_pattern(word: str) -> str:
    stem, open_end = (word[:-1], True) if word.endswith("*") and len(word) > 1 else (word, False)
    return "".join("['’]" if c == "'" else re2.escape(c) for c in stem) + (r"[\pL\pN]*" if open_end else "")


def _written_pattern(phrase: str) -> str:
    """A phrase as written (case kept, accents kept), any whitespace between its words."""
    return r"\s+".join(_word_pattern(word) for word in phrase.split())


class Offsets:
    """Byte offsets of a UTF-8 text as character offsets, for offsets that only grow (linear overall)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ascii = data.isascii()
        self.byte = 0
        self.char = 0

    def char_of(self, offset: int) -> int:
        if self.ascii:
            return offset
        if offset < self.byte:  # not expected; stay correct anyway
            self.byte = self.char = 0
        self.char += len(self.data[self.byte : offset].decode("utf-8", "ignore"))
        self.byte = offset
        return self.char


def group_spans(program: regex.Pattern, text: str, data: bytes | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of group 1 of each match, in character offsets, each search resuming where the last group
    ended (so a boundary character that a match consumed after its group can start the next). The text is encoded
    once (or given encoded as `data`): linear in the text, whatever the number of hits."""
    data = text.encode("utf-8") if data is None else data
    offsets = Offsets(data)
    pos = 0
    while pos <= len(data):
        m = program.search(data, pos)
        if m is None:
            return
        start, end = m.span(1)
        if end <= start:  # an expression that matched nothing: step on
            pos = max(pos + 1, m.end())
            continue
        yield offsets.char_of(start), offsets.char_of(end)
        pos = end


@dataclass
class Scan:
    """One text as the lexicon sees it within `one_pass`: folded and encoded once, the lists that hit it found in
    one pass over it, and each list's hits found once, whichever extractors and rules ask."""

    folded: str
    data: bytes  # the folded text in UTF-8
    lists: frozenset[int]  # slots of the lists with a hit
    hits: dict[int, tuple[Hit, ...]] = field(default_factory=dict)


SCAN_BUDGET = 2_000_000  # characters of text one `one_pass` keeps scans for (memory per check); then matched directly


@dataclass
class _Scans:
    budget: int
    texts: dict[tuple[int, str], Scan] = field(default_factory=dict)  # (id of the lexicon, text)
    last: tuple[int, str, Scan] | None = None


_SCANS: ContextVar[_Scans | None] = ContextVar("lexicon_scans", default=None)


@contextmanager
def one_pass() -> Iterator[None]:
    """Within this block every text is folded once and matched against all lists of a lexicon in one pass; a list
    then searches only texts it hits, and each list's hits in a text are found once. Nested blocks share the
    outermost one's scans; they are dropped when it ends."""
    if _SCANS.get() is not None:
        yield
        return
    token = _SCANS.set(_Scans(budget=SCAN_BUDGET))
    try:
        yield
    finally:
        _SCANS.reset(token)


class TermMatcher:
    """All terms of one list, in one RE2 program over folded text."""

    def __init__(self, name: str, terms: Sequence[Term]) -> None:
        self.name = name
        self.terms = tuple(terms)
        self._phrases: dict[str, Term] = {}
        self._regexes: list[tuple[regex.Pattern, Term]] = []
        self._scanner: Lexicon | None = None  # the lexicon whose one-pass scans cover this list, at `slot`
        self.slot = -1
        self.expressions: list[str] = []  # the regular expressions and open-ended phrases, as RE2 alternatives
        for term in self.terms:
            if term.regex or "*" in term.text:
                pattern = term.text if term.regex else _phrase_pattern(term.text)
                try:
                    single = regex.compile(f"(?:{pattern})", OPTIONS)
                except re2.error as exc:
                    raise RuleError(f"lexicon list {name!r} ({term.language}): invalid regular expression "
                                    f"{term.text!r}: {exc}") from None  # fmt: skip
                self._regexes.append((single, term))
                self.expressions.append(f"(?:{pattern})")
            else:
                key = _phrase_key(term.text)
                if key and key not in self._phrases:
                    self._phrases[key] = term
        alternatives = [_phrase_pattern(key) for key in self._phrases] + self.expressions
        self.pattern = _whole_words(alternatives)

    @cached_property
    def _program(self) -> regex.Pattern | None:
        """Compiled on first use: a process that loads the pack uses few of its lists (an audit's fetching process,
        a one-off check), and the one-pass scan finds which lists hit without it."""
        return regex.compile(self.pattern, OPTIONS) if self.pattern else None

    @property
    def phrases(self) -> list[str]:
        """The plain phrases, as `_phrase_key` writes them."""
        return list(self._phrases)

    def __repr__(self) -> str:
        return f"TermMatcher({self.name!r}, {len(self.terms)} terms)"

    def _scan(self, text: str) -> Scan | None:
        return self._scanner.scan(text) if self._scanner is not None else None

    def search(self, text: str) -> bool:
        if self.pattern is None or not text:
            return False
        scan = self._scan(text)
        if scan is not None:
            return self.slot in scan.lists
        return bool(self._program.search(fold(text).encode("utf-8")))

    def finditer(self, text: str) -> Iterator[Hit]:
        """Every whole-word hit, left to right, longest term first where several start at the same place."""
        if self.pattern is None or not text:
            return iter(())
        scan = self._scan(text)
        if scan is None:
            return self._find(fold(text))
        return iter(self.hits_in(scan))

    def hits_in(self, scan: Scan) -> tuple[Hit, ...]:
        """The list's hits in a scanned text, found on first use."""
        if self.slot not in scan.lists:
            return ()
        hits = scan.hits.get(self.slot)
        if hits is None:
            hits = scan.hits[self.slot] = tuple(self._find(scan.folded, scan.data))
        return hits

    def _find(self, folded: str, data: bytes | None = None) -> Iterator[Hit]:
        assert self._program is not None
        for start, end in group_spans(self._program, folded, data):
            term = self._term_of(folded[start:end])
            if term is not None:
                yield Hit(start=start, end=end, term=term.text, language=term.language)

    def opening(self, text: str) -> Hit | None:
        """The hit that opens the text, spaces before it aside ("each" in " each, VAT included")."""
        first = next(self.finditer(text), None)
        return first if first is not None and first.start == len(text) - len(text.lstrip()) else None

    def closing(self, text: str, rest: Callable[[str], bool] | None = None) -> Hit | None:
        """The last hit after which the text holds only what `rest` allows (default: no letter or digit)."""
        allowed = rest or (lambda tail: not any(c.isalnum() for c in tail))
        return next((hit for hit in reversed(list(self.finditer(text))) if allowed(text[hit.end :])), None)

    def whole(self, text: str) -> bool:
        """Whether the text is one term and nothing else."""
        return any((hit.start, hit.end) == (0, len(text)) for hit in self.finditer(text))

    def _term_of(self, matched: str) -> Term | None:
        term = self._phrases.get(_phrase_key(matched))
        if term is not None:
            return term
        return next((t for program, t in self._regexes if program.fullmatch(matched)), None)


def _whole_words(alternatives: Sequence[str]) -> str | None:
    """One RE2 pattern finding any of the alternatives as whole words (group 1: the words)."""
    return f"(?:^|{BOUNDARY})((?:{'|'.join(alternatives)}))(?:$|{BOUNDARY})" if alternatives else None


GAP_RUN = re.compile(r"[\t\n\f\r \-]+")  # RE2's `[\s\-]+`: RE2's \s is these five
WORD = re.compile(r"([^\W_]+)")  # a run of letters and digits (\pL\pN)
EDGE = "\0"


def _word_marked(folded: str) -> str:
    """Folded text with one space for each gap, one apostrophe, and EDGE around each run of letters and digits.

    In this form a phrase is found as whole words by plain substring search: `_word_marked("buy viagra")` is
    "\0buy\0 \0viagra\0", found in the text of "Buy  Viagra!" but not of "buy viagras" (no EDGE after "viagra").
    """
    text = GAP_RUN.sub(" ", folded.replace(EDGE, "\x01").replace("’", "'"))
    return EDGE.join(WORD.split(text))


class ListIndex:
    """Which lists hit a text, in one pass over it, with a cost fixed when the pack loads.

    Every plain phrase of every list is in one Aho-Corasick automaton over `_word_marked` text, where a hit is a
    whole-word hit; the few regular expressions and open-ended phrases are in one RE2 set. (One RE2 set of whole
    lists was tried first: it builds its automaton lazily, state by state, and on text it has not seen it cost about
    1 microsecond a byte, several seconds per worker before it had seen enough; its cache grew to tens of MB.)
    """

    def __init__(self, matchers: Sequence[TermMatcher]) -> None:
        phrases: dict[str, set[int]] = {}
        self._expressions = re2.Set.SearchSet(OPTIONS)
        self._expression_slots: list[int] = []
        for matcher in matchers:
            for phrase in matcher.phrases:
                phrases.setdefault(_word_marked(phrase), set()).add(matcher.slot)
            if matcher.expressions:
                self._expressions.Add(_whole_words(matcher.expressions))
                self._expression_slots.append(matcher.slot)
        if self._expression_slots:
            self._expressions.Compile()
        self._phrases: ahocorasick.Automaton | None = None
        if phrases:
            self._phrases = ahocorasick.Automaton()
            for marked, slots in phrases.items():
                # a phrase that starts (ends) with a mark such as "." needs no letter or digit just before (after) it
                edges = (marked[0] != EDGE, marked[-1] != EDGE)
                self._phrases.add_word(marked, (len(marked), *edges, frozenset(slots)))
            self._phrases.make_automaton()

    def lists(self, folded: str, data: bytes) -> frozenset[int]:
        """Slots of the lists with a whole-word hit in the text (`data` is `folded` in UTF-8)."""
        found: set[int] = set()
        if self._expression_slots:
            found.update(self._expression_slots[i] for i in self._expressions.Match(data) or ())
        if self._phrases is not None:
            marked = _word_marked(folded)
            for end, (length, open_start, open_end, slots) in self._phrases.iter(marked):
                start = end - length + 1
                if open_start and start > 0 and marked[start - 1] == EDGE:
                    continue
                if open_end and end + 1 < len(marked) and marked[end + 1] == EDGE:
                    continue
                found.update(slots)
        return frozenset(found)


class Lexicon:
    """Every term list of a pack, each compiled once."""

    def __init__(self, lists: dict[str, list[Term]], digest: str = "") -> None:
        self.digest = digest
        self._matchers = {name: TermMatcher(name, terms) for name, terms in sorted(lists.items())}
        for slot, matcher in enumerate(m for m in self._matchers.values() if m.pattern is not None):
            matcher.slot = slot
            matcher._scanner = self
        self._index = ListIndex([m for m in self._matchers.values() if m.slot >= 0])

    def scan(self, text: str) -> Scan | None:
        """The text's scan within `one_pass` (made on first use), or None outside it or past its budget."""
        scans = _SCANS.get()
        if scans is None:
            return None
        last = scans.last  # most lookups ask again about the text just asked about
        if last is not None and last[1] is text and last[0] == id(self):
            return last[2]
        key = (id(self), text)
        found = scans.texts.get(key)
        if found is None:
            if scans.budget < len(text):
                return None
            scans.budget -= len(text)
            folded = fold(text)
            data = folded.encode("utf-8")
            found = scans.texts[key] = Scan(folded, data, self._index.lists(folded, data))
        scans.last = (id(self), text, found)
        return found

    def has(self, name: str) -> bool:
        return name in self._matchers

    def names(self) -> list[str]:
        return list(self._matchers)

    def matcher(self, name: str) -> TermMatcher:
        try:
            return self._matchers[name]
        except KeyError:
            raise UnknownList(f"no lexicon list {name!r}; the lexicon defines: {', '.join(self._matchers)}") from None

    def alternation(self, name: str, language: str | None = None, *, folded: bool = False) -> str:
        """The list's terms (of one language, or all) as one RE2 alternative: for code that places a list inside
        a structure ("a number, then up to four capitalised words, then a street type"). As written, or `folded`
        for a pattern run on `fold`ed text (lowercase, no accents, any gap between words). Case and boundaries
        are the caller's; longest terms first."""
        terms = [t for t in self.matcher(name).terms if language is None or t.language == language]
        spell = _phrase_pattern if folded else _written_pattern
        parts = sorted({t.text if t.regex else spell(t.text) for t in terms}, key=len, reverse=True)
        return "(?:" + "|".join(parts) + ")" if parts else r"[^\x00-\x{10FFFF}]"  # matches nothing

    def first_hits(self, lists: Sequence[tuple[str, str]], text: str) -> list[tuple[str, Hit]]:
        """Hits of several lists, each tagged (tag, list name), left to right and never overlapping: where two
        start at the same place the earlier list wins, as in one alternation."""
        return first_of(self.tagged_hits(lists, text), [tag for tag, _ in lists])

    def tagged_hits(self, lists: Sequence[tuple[str, str]], text: str) -> list[tuple[str, Hit]]:
        """Every hit of several lists, each tagged (tag, list name), list by list; within `one_pass` only the
        lists that hit the text are searched, the text's scan looked up once."""
        scan = self.scan(text)
        if scan is None:
            return [(tag, hit) for tag, name in lists for hit in self.matcher(name).finditer(text)]
        return [(tag, hit) for tag, name in lists for hit in self.matcher(name).hits_in(scan)]

    def languages(self, name: str) -> list[str]:
        return sorted({t.language for t in self.matcher(name).terms})

    def missing(self, names: Iterable[str]) -> list[str]:
        return sorted(set(names) - set(self._matchers))


def first_of(tagged: Iterable[tuple[str, Hit]], order: Sequence[str]) -> list[tuple[str, Hit]]:
    """Tagged hits left to right, dropping those that overlap an earlier one (earlier tag in `order` on a tie)."""
    tagged = list(tagged)
    if len(tagged) < 2:
        return tagged
    rank = {tag: i for i, tag in enumerate(order)}
    found: list[tuple[str, Hit]] = []
    for tag, hit in sorted(tagged, key=lambda th: (th[1].start, rank.get(th[0], len(rank)), -th[1].end)):
        if not found or hit.start >= found[-1][1].end:
            found.append((tag, hit))
    return found


def lexicon_files(rule_dirs: Sequence[Path]) -> list[Path]:
    return [path for d in rule_dirs for path in sorted((Path(d) / "reference" / "lexicon").glob("*.yaml"))]


def load_lexicon(rule_dirs: Sequence[Path]) -> Lexicon:
    """The lists of every `reference/lexicon/<lang>.yaml` in `rule_dirs`, later dirs adding to earlier ones."""
    lists: dict[str, list[Term]] = {}
    digest = hashlib.sha256()
    for path in lexicon_files(rule_dirs):
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw)
        data = load_yaml(path, raw)[0] or {}  # bounded and plain data, as every file of a pack
        if not isinstance(data, dict):
            raise RuleError(f"{path}:1: a lexicon file maps list names to lists of terms")
        for name, terms in data.items():
            if not isinstance(terms, list):
                raise RuleError(f"{path}: list {name!r}: expected a list of terms")
            target = lists.setdefault(str(name), [])
            for term in terms:
                target.append(_term(path, str(name), term))
    return Lexicon(lists, digest.hexdigest()[:12])


def _term(path: Path, name: str, raw: object) -> Term:
    language = path.stem
    if isinstance(raw, str | int | float) and not isinstance(raw, bool) and str(raw).strip():
        return Term(str(raw).strip(), language)
    if isinstance(raw, dict) and set(raw) == {"re"} and isinstance(raw["re"], str) and raw["re"]:
        return Term(raw["re"], language, regex=True)
    hint = " (quote words YAML reads as true/false, such as 'no')" if isinstance(raw, bool) else ""
    raise RuleError(f'{path}: list {name!r}: a term is a phrase or {{re: "..."}}, not {raw!r}{hint}')
