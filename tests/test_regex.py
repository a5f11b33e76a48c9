"""`rxcheck.regex`: its direct path (bytes, ASCII text) gives what google-re2's own wrapper gives, call for call."""

import pickle

import pytest
import re2

from rxcheck import regex

OPTIONS = re2.Options()
OPTIONS.case_sensitive = False

PATTERNS = [r"(\d+)\s*(mg|ml)", r"(?P<word>[\pL]+)", r"x*", r"\bno prescription\b", r"^buy", r"(a)|(b)"]
TEXTS = [
    "Buy 20 mg now, 5ml later; no prescription",
    "",
    "aaa bbb",
    "Café 10 mg, 20 mg Ärzte",  # not ASCII: the wrapper's own path
    "xxyxx",
]


def spans(match: re2._Match | None) -> object:
    if match is None:
        return None
    return [match.span(g) for g in range(match.re.groups + 1)], match.group(), match.groupdict()


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("text", TEXTS)
def test_every_search_gives_what_the_wrapper_gives(pattern: str, text: str) -> None:
    fast, reference = regex.compile(pattern, OPTIONS), re2.compile(pattern, OPTIONS)
    assert isinstance(fast, regex.Pattern)
    for subject in (text, text.encode("utf-8")):
        for pos, endpos in [(None, None), (2, None), (1, 7), (-3, 100), (6, 2)]:
            for method in ("search", "match", "fullmatch"):
                got = getattr(fast, method)(subject, pos, endpos)
                assert spans(got) == spans(getattr(reference, method)(subject, pos, endpos)), (method, pos, endpos)
            assert [spans(m) for m in fast.finditer(subject, pos, endpos)] == [
                spans(m) for m in reference.finditer(subject, pos, endpos)
            ]
        assert fast.findall(subject) == reference.findall(subject)
        assert fast.split(subject) == reference.split(subject)
        template = "<\\g<0>>" if isinstance(subject, str) else b"<\\g<0>>"
        assert fast.sub(template, subject) == reference.sub(template, subject)


def test_a_match_on_text_gives_text_and_a_match_on_bytes_gives_bytes() -> None:
    pattern = regex.compile(r"(\d+) mg")
    assert pattern.search("take 20 mg").group(1) == "20"
    assert pattern.search(b"take 20 mg").group(1) == b"20"
    assert pattern.search("prends 20 mg, café").span(1) == (7, 9)  # character offsets, not bytes


def test_a_pattern_survives_pickling_as_itself() -> None:
    pattern = regex.compile(r"(?P<dose>\d+) mg", OPTIONS)
    assert pattern.search("20 mg")["dose"] == "20"  # the named groups, worked out before pickling
    copy = pickle.loads(pickle.dumps(pattern))
    assert isinstance(copy, regex.Pattern)
    assert copy.search("20 MG").span() == (0, 5)
    assert copy.groupindex == {"dose": 1} and copy.search("5 mg")["dose"] == "5"


def test_named_groups_are_the_wrappers_and_cannot_be_changed() -> None:
    pattern = regex.compile(r"(?P<amount>\d+)\s*(?P<unit>mg|ml)")
    assert pattern.groupindex == re2.compile(r"(?P<amount>\d+)\s*(?P<unit>mg|ml)").groupindex
    with pytest.raises(TypeError):
        pattern.groupindex["amount"] = 2  # type: ignore[index]
    assert pattern.search("take 20 mg")["unit"] == "mg"
