"""RE2 as rxcheck compiles it: `compile` is `re2.compile`, and its patterns search bytes and ASCII text faster.

google-re2's Python wrapper turns RE2's byte offsets into character offsets on every call, in Python: it encodes the
whole text, then sorts and counts the offsets of each match. Skipping that where it is not needed took a worker's
CPU on the 150-site farm from 4.8 s to 4.6 s. Where byte offsets are character offsets already, in bytes and in a
str that is all ASCII (which CPython knows without scanning it), the spans RE2 returns are the answer: `Pattern`
hands them to the wrapper's own match class as they are. Any other text takes the wrapper's path.

This leans on two names the wrapper does not export (`_Regexp`, whose `_regexp` is the compiled RE2, and `_Match`);
`tests/test_regex.py` checks both paths against each other, so a release that changes them fails there first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

import re2

_NO_MATCH = (-1, -1)

Match = re2._Match  # noqa: SLF001


class Pattern(re2._Regexp):  # noqa: SLF001
    """A compiled RE2 pattern, the wrapper's in every behaviour, with a direct path where offsets need no mapping."""

    __slots__ = ("_names",)

    @property
    def groupindex(self) -> Mapping[str, int]:
        """The named groups' numbers, worked out once (the wrapper builds the dict again on every call, and every
        `match["name"]` calls it)."""
        try:
            return self._names
        except AttributeError:
            self._names = MappingProxyType(super().groupindex)
            return self._names

    def _match(
        self, anchor: int, text: str | bytes, pos: int | None = None, endpos: int | None = None
    ) -> Iterator[Match]:
        """Every match from `pos` on, as the wrapper finds them (the base of its finditer, findall, split, sub)."""
        if isinstance(text, str) and not text.isascii():
            return super()._match(anchor, text, pos, endpos)
        return self._direct_matches(anchor, text, pos, endpos)

    def _direct_matches(self, anchor: int, text: str | bytes, pos: int | None, endpos: int | None) -> Iterator[Match]:
        data = text.encode("ascii") if isinstance(text, str) else text
        size = len(data)
        pos = 0 if pos is None else max(0, min(pos, size))
        endpos = size if endpos is None else max(0, min(endpos, size))
        if pos > endpos:
            return
        while True:
            spans = self._regexp.Match(anchor, data, pos, endpos)
            if spans[0] == _NO_MATCH:
                return
            yield Match(self, text, pos, endpos, spans)
            if pos == endpos:
                return
            pos = pos + 1 if pos == spans[0][1] else spans[0][1]  # an empty match steps on by one


def compile(pattern: str | bytes, options: re2.Options | None = None) -> Pattern:  # noqa: A001 (re2's own name)
    """`re2.compile`, giving a `Pattern`; compiled once per pattern and options (the wrapper's cache)."""
    options = options or re2.Options()
    return Pattern._make(pattern, tuple(getattr(options, name) for name in re2.Options.NAMES))
