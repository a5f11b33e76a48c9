"""Hostile markup: every page below parses within bounds and the site still gets a verdict, with a note on what
was skipped or cut. Pages are served by pytest-httpx (nothing leaves the process)."""

import tracemalloc

import pytest

from rxcheck.fetch.live import LiveFetcher
from rxcheck.parse import MAX_BLOCKS, MAX_TEXT_CHARS, parse_html
from rxcheck.result import Result

SHOP = "https://www.pills.example.com"
ROGUE = (
    b"<h1>Buy Viagra online without prescription</h1>"
    b"<p>Viagra 100mg - 90 pills $0.45 per pill. No prescription needed, no doctor visit.</p>"
    b"<p>We accept Bitcoin and Western Union only.</p>"
    b'<form action="/cart/add" method="post"><button>Add to cart</button></form><a href="/contact">Contact</a>'
)


def page(head: bytes = b"", body: bytes = b"") -> bytes:
    return b"<html><head><title>Cheap pills</title>" + head + b"</head><body>" + ROGUE + body + b"</body></html>"


HOSTILE = {
    "malformed link": page(body=b'<a href="http://[abc/x">bad link</a>'),
    "malformed base": page(head=b'<base href="http://[abc/">'),
    "malformed image": page(body=b'<a href="http://[abc/"><img src="http://[abc/x.png" alt="seal"></a>'),
    "malformed form": page(body=b'<form action="http://[abc/pay"><input name="card"></form>'),
    "json-ld 50,000 deep": page(
        head=b'<script type="application/ld+json">' + b"[" * 50_000 + b"]" * 50_000 + b"</script>"
    ),  # fmt: skip
    "20,000 links": page(body=b"".join(b'<a href="/p/%d">offer %d</a>' % (i, i) for i in range(20_000))),
    "100,000 nested elements": page(body=b"<div>x" * 100_000),
    "2.8 MB line without spaces": page(body=b"<p>" + b"a," * 1_400_000 + b"</p>"),  # under the 3 MB body cap
    "200,000-letter word": page(body=b"<p>" + b"a" * 200_000 + b"</p>"),
    "NUL bytes": page(body=b"<p>nul\x00here\x00</p>" + b"\x00" * 50_000),
    "garbage under a bad charset": page(head=b'<meta charset="x-no-such-charset">', body=bytes(range(256)) * 4_000),
}
NOTED = {
    "malformed link": "malformed URL",
    "malformed base": "malformed URL in <base href>",
    "malformed image": "malformed URL",
    "malformed form": "malformed URL",
    "json-ld 50,000 deep": "JSON-LD block skipped",
    "20,000 links": "links cut",
    "100,000 nested elements": "text cut",
    "2.8 MB line without spaces": "markup cut",
    "200,000-letter word": "text cut",
}


@pytest.mark.parametrize("name", [name for name in HOSTILE if name != "100,000 nested elements"])  # see below
def test_parse_html_survives_and_keeps_the_readable_part(name):
    doc = parse_html(HOSTILE[name], f"{SHOP}/")
    assert "No prescription needed" in doc.text
    assert len(doc.text) <= MAX_TEXT_CHARS + len(doc.blocks)  # the budget, plus the newlines joining blocks
    assert all(link.href.startswith(("https://", "http://", "mailto:", "tel:")) for link in doc.links)
    if name in NOTED:
        assert any(NOTED[name] in note for note in doc.notes), doc.notes
    for block in doc.blocks[-3:]:
        assert len(block.locator) <= 310


def test_a_malformed_base_falls_back_to_the_page_url():
    doc = parse_html(HOSTILE["malformed base"], f"{SHOP}/shop/")
    assert f"{SHOP}/contact" in [link.href for link in doc.links]


def test_a_malformed_link_is_skipped_and_the_others_kept():
    links = b'<a href="http://[abc/x">bad</a><a href="https://x.example:99999/">bad port</a><a href="/good">good</a>'
    doc = parse_html(page(body=links), f"{SHOP}/")
    assert [link.href for link in doc.links] == [f"{SHOP}/contact", f"{SHOP}/good"]
    assert any(note.startswith("2 malformed URL(s) skipped") for note in doc.notes), doc.notes
    image = parse_html(HOSTILE["malformed image"], f"{SHOP}/").images[0]
    assert image.src == "" and image.link_href is None and image.alt == "seal"
    assert parse_html(HOSTILE["malformed form"], f"{SHOP}/").forms[-1].action == f"{SHOP}/"


def test_json_ld_deeper_than_the_bound_is_skipped_and_shallow_blocks_kept():
    deep = b'<script type="application/ld+json">' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"</script>"
    fine = b'<script type="application/ld+json">{"@type": "Pharmacy", "name": "Kept"}</script>'
    doc = parse_html(page(head=deep + fine), f"{SHOP}/")
    assert doc.json_ld == [{"@type": "Pharmacy", "name": "Kept"}]
    assert any("nested deeper" in note for note in doc.notes)


def test_memory_for_deep_nesting_grows_with_the_page_not_its_square():
    """8,000 nested elements took 268 MB when every ancestor kept its full path."""
    html = b"<html><body>" + b"<div>x" * 8_000 + b"</body></html>"
    tracemalloc.start()
    try:
        doc = parse_html(html, f"{SHOP}/")
        locators = [block.locator for block in doc.blocks]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(locators) == MAX_BLOCKS and locators[-1].startswith("… > ")
    assert peak < 80_000_000, f"{peak:,} bytes"


def test_locators_stay_exact_below_the_depth_cap():
    html = b"<html><body>" + b"<section>" * 10 + b"<p>a</p><p>b</p>" + b"</section>" * 10 + b"</body></html>"
    doc = parse_html(html, f"{SHOP}/")
    locator = doc.blocks[1].locator
    assert locator == "body > " + "section > " * 10 + "p:nth-of-type(2)"
    assert doc.select(locator)[0].get_text() == "b"


def test_the_text_budget_keeps_the_start_of_the_page_and_says_what_was_cut():
    doc = parse_html(page(body=b"<p>filler words here</p>" * 20_000), f"{SHOP}/")
    assert doc.text.startswith("Buy Viagra online")
    assert sum(len(block.text) for block in doc.blocks) <= MAX_TEXT_CHARS
    assert any(note.startswith("text cut:") for note in doc.notes)


def serve(httpx_mock, html: bytes) -> None:
    httpx_mock.add_response(url=f"{SHOP}/", content=html, headers={"content-type": "text/html"})
    httpx_mock.add_response(status_code=404, is_optional=True, is_reusable=True)


@pytest.mark.parametrize("name", HOSTILE)  # 100,000 nested elements: about 10 s of parsing (1 MB, the parse cap)
async def test_a_hostile_page_still_gets_a_verdict(name, httpx_mock, checker):
    serve(httpx_mock, HOSTILE[name])
    async with LiveFetcher() as fetcher:
        result = await checker.check(f"{SHOP}/", fetcher)
    assert isinstance(result, Result) and result.error is None
    assert result.verdict == "rogue", (result.verdict, [f.rule for f in result.findings])
    assert "rx-no-prescription-needed" in {finding.rule for finding in result.findings}
