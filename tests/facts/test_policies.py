from __future__ import annotations

import pytest

from rxcheck.facts import policies

FOOTER = """<footer>
<a href="/impressum">Impressum</a> <a href="/datenschutz">Datenschutz</a> <a href="/agb">AGB</a>
<a href="/versand">Versand &amp; Lieferung</a> <a href="https://facebook.com/privacy">Privacy</a>
</footer>"""


def test_crawled_pages_and_footer_links(run, html):
    facts = run(
        policies.extract,
        {
            "https://www.apotheke.de/": (html(FOOTER), "home"),
            "https://www.apotheke.de/impressum": (html("<p>Impressum</p>", "Impressum"), "legal"),
        },
    )
    by_role = {f.value: f for f in facts.of("policy_page")}
    assert set(by_role) == {"legal", "privacy", "terms", "delivery"}
    assert by_role["legal"].get("crawled") is True
    assert by_role["legal"].get("url") == "https://www.apotheke.de/impressum"
    assert by_role["privacy"].get("crawled") is False
    assert by_role["privacy"].get("url") == "https://www.apotheke.de/datenschutz"  # not facebook's
    assert by_role["terms"].get("link_text") == "AGB"


@pytest.mark.parametrize(
    ("link", "role"),
    [
        ('<a href="/mentions-legales">Mentions légales</a>', "legal"),
        ('<a href="/colofon">Colofon</a>', "legal"),
        ('<a href="/retours">Retourneren</a>', "returns"),
        ('<a href="/help/returns-and-refunds">Returns &amp; refunds</a>', "returns"),
        ('<a href="/how-it-works">How it works</a>', "prescriptions"),
        ('<a href="/over-ons">Over ons</a>', "about"),
    ],
)
def test_link_roles_in_each_language(run, html, link, role):
    facts = run(policies.extract, {"https://shop.example/": (html(f"<footer>{link}</footer>"), "home")})
    assert [f.value for f in facts.of("policy_page")] == [role]


def test_site_without_policy_pages(run, html):
    facts = run(policies.extract, {"https://shop.example/": (html('<a href="/viagra">Viagra</a>'), "home")})
    assert facts.of("policy_page") == []
