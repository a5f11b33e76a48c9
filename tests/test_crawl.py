"""Discovery and crawling: which pages a check fetches, with which role, within its limits."""

import pytest

from rxcheck.crawl import Crawler, CrawlSettings
from rxcheck.engine.loader import load_pack
from rxcheck.errors import FetchError
from rxcheck.fetch.live import LiveFetcher

MATCHER = load_pack().roles
SHOP = "https://www.shop.example.co.uk"

HOME = f"""<html><head><title>Shop</title></head><body>
<nav><a href="/about-us">About us</a> <a href="/contact">Contact</a> <a href="{SHOP}/returns-policy">Returns</a>
<a href="/products/sildenafil-50mg">Sildenafil 50mg</a> <a href="/products/isotretinoin-20mg">Isotretinoin</a>
<a href="/login">Log in</a> <a href="/basket">Basket</a> <a href="https://www.facebook.com/shop">Facebook</a>
<a href="/impressum">Impressum</a> <a href="/img/logo.png">logo</a> <a href="/blog/some-news">News</a></nav>
</body></html>"""


def page(title: str, links: str = "") -> str:
    text = "<p>This page of the shop tells you about our products, how we deliver them and how to reach us.</p>"
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{text}{links}</body></html>"


@pytest.fixture
def site(httpx_mock):
    httpx_mock.add_response(url=f"{SHOP}/robots.txt", text="User-agent: *\nDisallow: /impressum\n", is_optional=True)
    httpx_mock.add_response(url=f"{SHOP}/", html=HOME)
    for path, title in [
        ("/about-us", "About"),
        ("/contact", "Contact"),
        ("/returns-policy", "Returns"),
        ("/products/sildenafil-50mg", "Sildenafil"),
        ("/products/isotretinoin-20mg", "Isotretinoin"),
    ]:
        links = '<a href="/privacy">Privacy policy</a>' if path == "/contact" else ""
        httpx_mock.add_response(url=f"{SHOP}{path}", html=page(title, links), is_optional=True)
    httpx_mock.add_response(url=f"{SHOP}/privacy", html=page("Privacy"), is_optional=True)
    return httpx_mock


async def crawl(settings: CrawlSettings | None = None, start: str = f"{SHOP}/"):
    async with LiveFetcher() as fetcher:
        return await Crawler(fetcher, MATCHER, settings or CrawlSettings()).crawl(start, start)


async def test_crawl_fetches_evidence_pages_with_their_roles(site):
    result = await crawl()
    roles = {p.final_url.removeprefix(SHOP): p.role for p in result.pages}
    assert roles == {
        "/": "home",
        "/about-us": "about",
        "/contact": "contact",
        "/returns-policy": "returns",
        "/products/sildenafil-50mg": "product",
        "/products/isotretinoin-20mg": "product",
        "/privacy": "privacy",  # found on the second level, from the contact page
    }


async def test_a_deep_start_also_fetches_the_home_page_and_follows_links_from_both(site):
    result = await crawl(start=f"{SHOP}/products/sildenafil-50mg")
    roles = {p.final_url.removeprefix(SHOP): p.role for p in result.pages}
    assert result.pages[0].final_url == f"{SHOP}/products/sildenafil-50mg"  # the page the person is on comes first
    assert roles["/products/sildenafil-50mg"] == "product" and roles["/"] == "home"
    assert {"/about-us", "/contact", "/returns-policy"} <= set(roles)  # discovered from the home page


async def test_crawl_never_leaves_the_site_or_fetches_account_pages(site):
    result = await crawl()
    urls = [p.final_url for p in result.pages]
    assert not any("facebook" in u or "/login" in u or "/basket" in u or "logo.png" in u for u in urls)


async def test_robots_txt_is_obeyed(site):
    result = await crawl()
    assert not any(p.final_url.endswith("/impressum") for p in result.pages)
    assert any("robots.txt disallows" in message for _, message in result.errors)


async def test_no_page_is_asked_for_before_robots_txt_has_answered(httpx_mock):
    import httpx

    answered: list[str] = []

    def robots(request: httpx.Request) -> httpx.Response:
        answered.append("robots.txt")
        return httpx.Response(200, text="User-agent: *\nDisallow: /impressum\n")

    def any_page(request: httpx.Request) -> httpx.Response:
        assert answered, f"{request.url} was asked for before robots.txt answered"
        return httpx.Response(200, html=HOME if request.url.path == "/" else page("Page"))

    httpx_mock.add_callback(robots, url=f"{SHOP}/robots.txt")
    httpx_mock.add_callback(any_page, is_reusable=True)
    result = await crawl(start=f"{SHOP}/products/sildenafil-50mg")  # a deep start: its home page is fetched too
    assert [p.final_url.removeprefix(SHOP) for p in result.pages][:2] == ["/products/sildenafil-50mg", "/"]


async def test_page_cap_is_respected(site):
    result = await crawl(CrawlSettings(max_pages=3))
    assert len(result.pages) == 3
    assert result.pages[0].role == "home"


async def test_dead_start_page_raises_a_fetch_error(httpx_mock):
    import httpx

    httpx_mock.add_response(url=f"{SHOP}/robots.txt", status_code=404, is_optional=True)
    httpx_mock.add_exception(httpx.ConnectError("connection refused"), url=f"{SHOP}/")
    with pytest.raises(FetchError):
        await crawl()


@pytest.mark.parametrize(
    ("url", "text", "role"),
    [
        ("https://s.de/ueber-uns/", "Über uns", "about"),
        ("https://s.fr/mentions-legales", "Mentions légales", "legal"),
        ("https://s.nl/over-ons", "Over ons", "about"),
        ("https://s.nl/klantenservice/retourneren", "Retourneren", "contact"),
        ("https://s.fr/livraison.html", "Livraison", "delivery"),
        ("https://s.com/shop/viagra-100mg", "Viagra 100mg", "product"),
        ("https://s.com/blog/2024/holiday-hours", "Holiday hours", "other"),
    ],
)
def test_role_names_in_four_languages(url, text, role):
    assert MATCHER.role_of(url, text)[0] == role
