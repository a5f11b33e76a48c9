from __future__ import annotations

import pytest

from rxcheck.facts import domain

HOME = "<html><body><p>Welcome</p></body></html>"


def only_domain(run, url: str, **options):
    facts = run(domain.extract, {url: (HOME, "home")}, **options)
    assert len(facts.of("domain")) == 1
    return facts.first("domain")


def test_registrable_domain_and_parts(run):
    fact = only_domain(run, "https://shop.example.co.uk/")
    assert fact.value == "example.co.uk"
    assert fact.get("host") == "shop.example.co.uk"
    assert fact.get("subdomain") == "shop"
    assert fact.get("suffix") == "co.uk"
    assert fact.get("scheme") == "https"
    assert fact.get("pharmacy_tld") is False
    assert fact.get("cross_domain_redirect") is False
    assert fact.evidence.url == "https://shop.example.co.uk/"


def test_pharmacy_tld(run):
    fact = only_domain(run, "https://www.example.pharmacy/")
    assert fact.get("pharmacy_tld") is True
    assert fact.value == "example.pharmacy"


@pytest.mark.parametrize(
    ("url", "medicine"),
    [
        ("https://buyviagraonline.com/", "sildenafil"),
        ("https://cheap-tramadol-rx.net/", "tramadol"),
        ("https://www.accutane24.com/", "isotretinoin"),
        ("https://ozempic.shop/", "semaglutide"),
        ("https://www.specialistpharmacy.co.uk/", None),  # "cialis" inside "specialist"
        ("https://www.aspiring-health.com/", None),  # "aspirin" inside "aspiring"
        ("https://www.nhs.uk/", None),
    ],
)
def test_medicine_in_domain(run, url, medicine):
    assert only_domain(run, url).get("medicine_in_domain") == medicine


@pytest.mark.parametrize(
    ("url", "brand"),
    [
        ("https://boots-pharmacy-online.com/", "Boots"),
        ("https://walgreensrx-discount.net/", "Walgreens"),
        ("https://www.boots.com/", None),
        ("https://onlinedoctor.boots.com/", None),
        ("https://bootstrap-pharmacy.com/", None),
        ("https://www.hartwellpharmacy.co.uk/", None),  # "hart" + "wellpharmacy" is not Well Pharmacy
        ("https://www.docmorris.de/", None),
        ("https://docmorris-apotheke.top/", "DocMorris"),
    ],
)
def test_lookalike_of_known_pharmacy_brand(run, url, brand):
    assert only_domain(run, url).get("lookalike_of") == brand


def test_cross_domain_redirect_of_start_page(run):
    start = "https://doorway.example.org/cheap-pills/"
    chain = [start, "https://tracker.example.net/go?id=1", "https://store.example.com/"]
    facts = run(domain.extract, {start: (HOME, "home")}, redirects={start: chain})
    fact = facts.first("domain")
    assert fact.value == "example.org"
    assert fact.get("final_domain") == "example.com"
    assert fact.get("cross_domain_redirect") is True
    [redirect] = facts.of("redirect")
    assert redirect.get("from_domain") == "example.org"
    assert redirect.get("to_domain") == "example.com"
    assert redirect.get("chain") == chain
    assert redirect.get("start_page") is True


def test_same_domain_redirect_is_not_a_redirect_fact(run):
    start = "http://example.com/"
    facts = run(domain.extract, {start: (HOME, "home")}, redirects={start: [start, "https://www.example.com/"]})
    assert facts.of("redirect") == []
    fact = facts.first("domain")
    assert fact.get("cross_domain_redirect") is False
    assert (fact.get("scheme"), fact.get("final_scheme")) == ("http", "https")


def test_redirect_of_another_page(run):
    start = "https://shop.example.com/"
    other = "https://shop.example.com/order"
    facts = run(
        domain.extract,
        {start: (HOME, "home"), other: (HOME, "other")},
        redirects={other: [other, "https://pay.elsewhere.biz/checkout"]},
    )
    [redirect] = facts.of("redirect")
    assert redirect.get("start_page") is False
    assert redirect.value == "elsewhere.biz"


def test_registrable_domain_never_touches_the_network():
    assert domain.registrable_domain("https://a.b.example.com.au/x") == "example.com.au"
    assert domain.registrable_domain("http://localhost:8000/") == "localhost"
