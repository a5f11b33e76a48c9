"""The whole check on small sites served by pytest-httpx: verdicts, overrides, jurisdictions, unreadable pages."""

import pytest

from rxcheck.fetch.live import LiveFetcher
from rxcheck.pipeline import Checker

SHOP = "https://www.pills.example.com"
ROGUE_HOME = """<html><head><title>Cheap pills</title></head><body>
<h1>Buy Viagra online without prescription</h1>
<p>Viagra 100mg – 90 pills $0.45 per pill. No prescription needed, no doctor visit.</p>
<p>We accept Bitcoin and Western Union only.</p>
<form action="/cart/add" method="post"><button>Add to cart</button></form>
<a href="/contact">Contact</a></body></html>"""
ARTICLE = """<html><head><title>Buying medicines online safely</title></head><body>
<h1>How to spot a fake online pharmacy</h1>
<p>Beware of websites that sell Viagra without a prescription or take payment in Bitcoin.</p>
<p>Legitimate pharmacies always ask for a prescription and show a registration number.</p>
<p>Report suspicious sites to your national medicines regulator.</p><a href="/about">About</a>
<a href="/contact">Contact</a><a href="/news">News</a></body></html>"""


def serve(httpx_mock, pages: dict[str, str]) -> None:
    for path, html in pages.items():
        httpx_mock.add_response(url=f"{SHOP}{path}", html=html, is_optional=path != "/")
    httpx_mock.add_response(url=f"{SHOP}/robots.txt", status_code=404, is_optional=True)
    httpx_mock.add_response(status_code=404, is_optional=True, is_reusable=True)


async def check(checker: Checker, jurisdiction: str = "auto"):
    async with LiveFetcher() as fetcher:
        return await checker.check(f"{SHOP}/", fetcher, jurisdiction=jurisdiction)


async def test_rogue_shop_is_rogue_with_evidence(httpx_mock, checker):
    serve(httpx_mock, {"/": ROGUE_HOME})
    result = await check(checker)
    assert result.verdict == "rogue" and result.risk_score >= 70
    rules = {f.rule for f in result.findings}
    assert {"rx-no-prescription-needed", "pay-no-card-payment"} <= rules
    finding = next(f for f in result.findings if f.rule == "rx-no-prescription-needed")
    assert any("without prescription" in e.snippet.lower() or "no prescription" in e.snippet.lower()
               for e in finding.evidence)  # fmt: skip


async def test_an_article_about_red_flags_is_not_a_pharmacy_and_shows_none(httpx_mock, checker):
    serve(httpx_mock, {"/": ARTICLE})
    result = await check(checker)
    assert result.verdict == "not_a_pharmacy" and result.risk_score == 0
    assert result.red_flags() == []


async def test_operator_override_decides_before_any_fetch(tmp_path):
    (tmp_path / "overrides.yaml").write_text(
        "deny: [{domain: pills.example.com, verdict: rogue, reason: On the regulator's list}]\n"
    )
    checker = Checker(rules_dirs=[tmp_path])
    async with LiveFetcher() as fetcher:  # no response is mocked: a fetch would fail the test
        result = await checker.check(f"{SHOP}/", fetcher)
    assert result.verdict == "rogue" and result.findings[0].rule == "operator-override"
    assert "regulator's list" in result.findings[0].evidence[0].snippet


async def test_jurisdiction_is_stated_and_scopes_rules(httpx_mock, checker):
    home = ROGUE_HOME.replace("Viagra 100mg – 90 pills $0.45 per pill.", "Atorvastatin 20mg, 30 tablets $9.99.")
    serve(httpx_mock, {"/": home})
    as_us = await check(checker, "US")
    assert as_us.jurisdiction == "US"
    assert "lic-us-no-state-licence" in {f.rule for f in as_us.findings}


async def test_jurisdiction_scoped_rule_stays_quiet_elsewhere(httpx_mock, checker):
    home = ROGUE_HOME.replace("Viagra 100mg – 90 pills $0.45 per pill.", "Atorvastatin 20mg, 30 tablets $9.99.")
    serve(httpx_mock, {"/": home})
    as_gb = await check(checker, "GB")
    rules = {f.rule for f in as_gb.findings}
    assert "lic-us-no-state-licence" not in rules and "lic-gb-no-gphc-premises" in rules


@pytest.mark.parametrize(
    ("response", "message", "error_type"),
    [
        ({"status_code": 500, "html": "<p>down</p>"}, "answered HTTP 500", "http_error"),
        ({"content": b"%PDF-1.4", "headers": {"content-type": "application/pdf"}}, "is not a web page", "not_html"),
        (
            {"html": "<html><body><div id='app'></div><script src='/app.js'></script></body></html>"},
            "JavaScript",
            "no_content",
        ),
    ],
)
async def test_unreadable_start_pages_are_unreachable_with_a_reason(httpx_mock, checker, response, message, error_type):
    httpx_mock.add_response(url=f"{SHOP}/robots.txt", status_code=404, is_optional=True)
    httpx_mock.add_response(url=f"{SHOP}/", **response)
    result = await check(checker)
    assert result.verdict == "unreachable" and result.error.type == error_type
    assert message in result.error.message
    assert result.error.status == (500 if error_type == "http_error" else None)


async def test_bad_url_and_bad_jurisdiction_are_reported_not_raised(checker):
    async with LiveFetcher() as fetcher:
        assert (await checker.check("ftp://x.example/", fetcher)).error.type == "invalid_url"
        assert (await checker.check(f"{SHOP}/", fetcher, jurisdiction="XX")).verdict == "unreachable"


async def test_a_warmed_up_checker_judges_exactly_as_a_cold_one(fixture_warc):
    from rxcheck.fetch.archive import ArchiveFetcher

    cold, warm = Checker(), Checker()
    warm.warm_up()
    async with ArchiveFetcher(fixture_warc) as fetcher:
        for url in ("https://www.hartwellpharmacy.co.uk/", "https://www.leanlinepens.com/"):
            first, second = await cold.check(url, fetcher), await warm.check(url, fetcher)
            assert first.model_dump(exclude={"checked_at"}) == second.model_dump(exclude={"checked_at"})
