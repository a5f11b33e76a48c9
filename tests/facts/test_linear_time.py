"""Every fact extractor does work that grows linearly with hostile page text (issue 8): long words, long runs of
punctuation, long lines. A growth test, not a timing assertion: the CPU time at size 4N is compared with size N
(linear work grows 4 times, quadratic work 16 times)."""

from __future__ import annotations

import gc
import time

import pytest

from rxcheck.facts import extract
from rxcheck.facts.extract import extract_facts

N = 10_000
SCALE = 4
GROWTH_LIMIT = 8.0  # far above linear (4), far below quadratic (16), so a busy machine does not read as growth
FLOOR = 0.02  # seconds: below this, a ratio is noise
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


def site_of(make_site, text: str):
    return make_site({"https://shop.example.com/": (f"<html><body><p>{text}</p><p>{text}</p></body></html>", "home")})


def costs(pack, small, large) -> tuple[float, float]:
    """The least CPU time of three runs on each site, the runs interleaved so that a busy moment hits both."""
    best = [float("inf"), float("inf")]
    gc.disable()  # a collection falling in one run only would read as growth
    try:
        for _ in range(3):
            for i, site in enumerate((small, large)):
                started = time.process_time()
                facts = extract_facts(site, pack)
                best[i] = min(best[i], time.process_time() - started)
                assert not facts.notes, facts.notes  # the extractor ran to the end
    finally:
        gc.enable()
    return best[0], best[1]


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
def test_extractor_work_grows_linearly_on_hostile_text(pack, make_site, monkeypatch, name):
    monkeypatch.setattr(extract, "EXTRACTORS", [EXTRACTORS[name]])
    for kind, make in HOSTILE.items():
        small, large = costs(pack, site_of(make_site, make(N)), site_of(make_site, make(SCALE * N)))
        assert large <= max(FLOOR, GROWTH_LIMIT * small), (
            f"{name} on a {kind}: {small:.3f}s at {N}, {large:.3f}s at {SCALE * N}"
        )
