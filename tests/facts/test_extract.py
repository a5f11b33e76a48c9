from __future__ import annotations

import importlib

import pytest

from rxcheck.facts import Facts
from rxcheck.facts.extract import EXTRACTORS, extract_facts, guess_jurisdiction


def page(body: str, lang: str = "en") -> str:
    return f"<html lang='{lang}'><body>{body}</body></html>"


UK_PHARMACY = {
    "https://www.example-chemist.co.uk/": (
        page(
            "<h1>Online pharmacy</h1><p>Sildenafil 50mg: £1.99 for 4 tablets</p><button>Add to basket</button>"
            "<footer><p>Example Chemist Ltd, 10 High Street, Leeds LS1 4AB. Tel 0113 496 0000.</p>"
            "<p>GPhC registration number 1123456. Superintendent Pharmacist: Jane Doe (GPhC 2012345).</p>"
            '<a href="https://www.pharmacyregulation.org/registers/pharmacy/1123456"><img src="/gphc.png" alt="GPhC">'
            '</a><a href="/returns">Returns</a><a href="/privacy">Privacy</a></footer>'
        ),
        "home",
    ),
}


def test_every_extractor_is_documented():
    for extractor in EXTRACTORS:
        module = importlib.import_module(extractor.__module__)
        assert module.__doc__ and "attrs" in module.__doc__, module.__name__


def test_extract_facts_collects_every_kind(pack, make_site):
    facts = extract_facts(make_site(UK_PHARMACY), pack)
    assert isinstance(facts, Facts)
    expected = {"domain", "medicine", "offer", "price", "commerce", "licence", "person", "address", "phone",
                "company", "seal", "policy_page"}  # fmt: skip
    assert expected <= set(facts.kinds())
    assert all(f.evidence is not None and len(f.evidence.snippet) <= 300 for f in facts)


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        (UK_PHARMACY, "GB"),
        ({"https://www.apotheke-am-markt.de/": (page(
            "<p>Apotheke am Markt, Marktstraße 3, 50667 Köln. Tel. +49 221 123456</p><p>Ibuprofen 400 mg 6,99 €</p>",
            lang="de"), "home")}, "EU"),
        ({"https://www.example-rx.com/": (page(
            "<p>Licensed by the Texas State Board of Pharmacy, license #PH12345.</p>"
            "<p>123 Main Street, Austin, TX 78701. Call 1-800-555-0100.</p>"), "home")}, "US"),
        ({"https://www.example-drugs.ca/": (page("<p>100 King Street West, Toronto, ON M5X 1A9</p>"), "home")}, "CA"),
        ({"https://www.truenorth-drugs.com/": (page(
            "<p>Your Canadian pharmacy. Save on Medicare copays!</p><p>Call toll-free 1-877-648-2251. Prices $189.</p>"
        ), "home")}, "CA"),  # a "Canadian pharmacy" claim outweighs US words; toll-free numbers are not US-only
        ({"https://health-blog.com/": (page("<p>How isotretinoin works.</p>"), "home")}, "unknown"),
        ({"https://cheap-meds.com/": (page("<p>Plot 12, Andheri East, Mumbai, India. +91 22 1234 5678</p>"), "home")},
         "unknown"),
    ],
)  # fmt: skip
def test_guess_jurisdiction(pack, make_site, pages, expected):
    site = make_site(pages)
    assert guess_jurisdiction(site, extract_facts(site, pack), pack) == expected
