"""Every fact extractor does work that grows linearly with hostile page text (issue 8): long words, long runs of
punctuation, long lines. A growth test, not a timing assertion: the CPU time at size 2N is compared with size N."""

from __future__ import annotations

import time

import pytest

from checker.facts import extract
from checker.facts.extract import extract_facts

N = 20_000
GROWTH_LIMIT = 3.2  # linear work doubles; quadratic work quadruples
HOSTILE = {
    "long word": lambda n: "a" * n,
    "long capitalised word": lambda n: "A" + "b" * n + " Ltd",
    "long digit run": lambda n: "1" * n,
    "punctuation run": lambda n: ".-,'/" * (n // 5),
    "capitalised words": lambda n: "Ab " * (n // 3) + "GmbH",
    "spaces": lambda n: "x" + " " * n + "y",
    "dense keywords": lambda n: "Buy now Viagra 100 mg 20 pills $ 9.99 per pill, no prescription. " * (n // 64),
    "street-like": lambda n: "12 " + "Main " * (n // 5) + "Street",
}
EXTRACTORS = {fn.__module__.rsplit(".", 1)[-1]: fn for fn in extract.EXTRACTORS}


def cost(pack, make_site, text: str) -> float:
    site = make_site({"https://shop.example.com/": (f"<html><body><p>{text}</p><p>{text}</p></body></html>", "home")})
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        facts = extract_facts(site, pack)
        best = min(best, time.process_time() - started)
    assert not facts.notes, facts.notes  # the extractor ran to the end
    return best


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
def test_extractor_work_grows_linearly_on_hostile_text(pack, make_site, monkeypatch, name):
    monkeypatch.setattr(extract, "EXTRACTORS", [EXTRACTORS[name]])
    for kind, make in HOSTILE.items():
        small, large = cost(pack, make_site, make(N)), cost(pack, make_site, make(2 * N))
        floor = 0.02  # below this, a ratio is noise
        assert large <= max(floor, GROWTH_LIMIT * max(small, floor / GROWTH_LIMIT)), (
            f"{name} on a {kind}: {small:.3f}s at {N}, {large:.3f}s at {2 * N}"
        )
