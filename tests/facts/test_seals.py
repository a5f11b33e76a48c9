from __future__ import annotations

import pytest

from rxcheck.facts import seals


def seal_facts(run, html, body: str, url: str = "https://shop.com/"):
    return run(seals.extract, {url: (html(body), "home")}).of("seal")


def one_seal(run, html, body: str, url: str = "https://shop.com/"):
    found = seal_facts(run, html, body, url)
    assert len(found) == 1, [(f.value, f.get("link_href")) for f in found]
    return found[0]


def test_legitscript_seal_linking_to_its_verification_for_this_domain(run, html):
    body = (
        '<a href="https://www.legitscript.com/websites/?checker_keywords=shop.com">'
        '<img src="https://static.legitscript.com/seals/123.png" alt="LegitScript approved"></a>'
    )
    seal = one_seal(run, html, body)
    assert seal.value == "legitscript"
    assert seal.get("link_kind") == "register"
    assert seal.get("domain_in_link") is True
    assert seal.get("register_match") is True
    assert seal.get("link_domain") == "legitscript.com"
    assert seal.get("via") == "image"


def test_legitscript_verification_of_another_domain(run, html):
    body = '<a href="https://www.legitscript.com/websites/?checker_keywords=other.com"><img src="/ls.png"></a>'
    seal = one_seal(run, html, body)
    assert seal.value == "legitscript"  # recognised by where it links
    assert seal.get("link_kind") == "issuer_other"
    assert seal.get("register_match") is True
    assert seal.get("domain_in_link") is False


def test_legitscript_seal_linking_to_issuer_home_page(run, html):
    body = '<a href="https://www.legitscript.com/"><img src="/img/legitscript.png" alt="LegitScript"></a>'
    assert one_seal(run, html, body).get("link_kind") == "issuer_other"


def test_seal_linking_to_the_site_itself(run, html):
    body = '<a href="https://shop.com/about/certified"><img src="/img/seal.png" alt="LegitScript Certified"></a>'
    seal = one_seal(run, html, body)
    assert seal.get("link_kind") == "self"


def test_seal_without_link(run, html):
    seal = one_seal(run, html, '<img src="/img/vipps.png" alt="VIPPS accredited pharmacy">')
    assert (seal.value, seal.get("link_kind"), seal.get("link_href")) == ("nabp", "none", None)
    assert seal.get("jurisdiction") == "US"


def test_eu_common_logo_linking_to_german_register(run, html):
    body = (
        '<a href="https://www.dimdi.de/dynamic/de/arzneimittel/versandhandel/register/?id=123">'
        '<img src="/img/eu-sicherheitslogo.png" alt=""></a>'
    )
    seal = one_seal(run, html, body, "https://www.apotheke.de/")
    assert seal.value == "eu_common_logo"
    assert seal.get("link_kind") == "register"
    assert seal.get("register_country") == "DE"
    assert seal.get("jurisdiction") == "EU"


@pytest.mark.parametrize(
    ("alt", "href", "country"),
    [
        ("Gemeenschappelijk logo", "https://www.aanbiedersmedicijnen.nl/aanbieders/apotheek-zorg", "NL"),
        ("Logo commun européen", "https://www.ordre.pharmacien.fr/ecommerce/search?site=pharmacie.fr", "FR"),
    ],
)
def test_eu_common_logo_other_languages(run, html, alt, href, country):
    seal = one_seal(run, html, f'<a href="{href}"><img src="/logo.png" alt="{alt}"></a>', "https://www.apotheek.nl/")
    assert (seal.value, seal.get("link_kind"), seal.get("register_country")) == ("eu_common_logo", "register", country)


def test_eu_logo_linking_to_register_home_page_is_not_a_register_entry(run, html):
    body = '<a href="https://www.bfarm.de/"><img src="/logo.png" alt="EU-Sicherheitslogo"></a>'
    assert one_seal(run, html, body, "https://www.apotheke.de/").get("link_kind") == "issuer_other"


def test_gphc_register_text_link(run, html):
    body = '<a href="https://www.pharmacyregulation.org/registers/pharmacy/1123456">Check our GPhC registration</a>'
    seal = one_seal(run, html, body, "https://www.shop.co.uk/")
    assert (seal.value, seal.get("via"), seal.get("link_kind")) == ("gphc", "link", "register")


@pytest.mark.parametrize("alt", ["Verified Pharmacy", "Certified Online Pharmacy", "FDA Approved", "100% Secure"])
def test_imitation_seals(run, html, alt):
    seal = one_seal(run, html, f'<a href="https://shop.com/trust"><img src="/trust.png" alt="{alt}"></a>')
    assert seal.value == "imitation"
    assert seal.get("link_kind") == "self"
    assert seal.get("jurisdiction") is None


def test_generic_badge_name_linking_to_real_issuer_is_that_issuer(run, html):
    body = (
        '<a href="https://www.legitscript.com/websites/?checker_keywords=shop.com">'
        '<img src="/seal.png" alt="Verified pharmacy"></a>'
    )
    seal = one_seal(run, html, body)
    assert (seal.value, seal.get("link_kind")) == ("legitscript", "register")


@pytest.mark.parametrize(
    "body",
    [
        '<img src="/img/visa.svg" alt="Visa"><img src="/img/mastercard.svg" alt="Mastercard">',
        '<img src="/img/norton.png" alt="Norton Secured, verified by Symantec">',
        '<img src="/img/team.jpg" alt="Our pharmacists">',
    ],
)
def test_not_seals(run, html, body):
    assert seal_facts(run, html, body) == []


def test_unlabelled_badge_read_from_its_caption(run, html):
    body = '<div class="badge"><img src="/s.png"><span>Verified by LegitScript</span></div>'
    seal = one_seal(run, html, body)
    assert (seal.value, seal.get("link_kind"), seal.get("text")) == ("legitscript", "none", "Verified by LegitScript")


def test_text_claim_of_accreditation_is_not_a_badge(run, html):
    facts = run(seals.extract, {"https://shop.com/": (html("<p>We are a VIPPS accredited pharmacy.</p>"), "home")})
    assert facts.of("seal") == []
    [claim] = facts.of("seal_claim")
    assert (claim.value, claim.get("jurisdiction")) == ("nabp", "US")


def test_seal_in_footer_of_every_page_counts_once(run, html):
    footer = html('<footer><a href="https://www.legitscript.com/"><img src="/ls.png" alt="LegitScript"></a></footer>')
    pages = {f"https://shop.com/{p}": (footer, "other") for p in ("", "a", "b")}
    assert len(run(seals.extract, pages).of("seal")) == 1


def test_link_to_register_search_page_is_not_an_entry(run, html):
    body = '<a href="https://www.pharmacyregulation.org/registers/pharmacy"><img src="/gphc.png" alt="GPhC"></a>'
    seal = one_seal(run, html, body, "https://www.shop.co.uk/")
    assert (seal.get("link_kind"), seal.get("register_match")) == ("issuer_other", False)


@pytest.mark.parametrize(
    "link",
    [
        '<a href="https://www.pharmacyregulation.org/">General Pharmaceutical Council</a>',
        '<a href="https://www.pharmacyregulation.org/registers/pharmacy">GPhC register</a>',
    ],
)
def test_plain_text_links_to_a_regulator_are_not_seals(run, html, link):
    assert seal_facts(run, html, f"<p>Check the {link} before you buy.</p>") == []


def test_text_badge_linking_to_the_site_itself(run, html):
    seal = one_seal(run, html, '<a href="/about">LegitScript Certified</a>')
    assert (seal.value, seal.get("via"), seal.get("link_kind")) == ("legitscript", "link", "self")


def test_licensed_canadian_pharmacy_badge_is_an_imitation(run, html):
    assert one_seal(run, html, '<img src="/s.png" alt="Licensed Canadian Pharmacy">').value == "imitation"
