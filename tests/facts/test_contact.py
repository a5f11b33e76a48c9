from __future__ import annotations

import pytest

from rxcheck.facts import contact


def contact_facts(run, html, body: str, url: str = "https://www.shop.co.uk/contact"):
    return run(contact.extract, {url: (html(body), "contact")})


@pytest.mark.parametrize(
    ("body", "country", "postcode"),
    [
        ("<address>Acme Pharmacy Ltd<br>Unit 4, Riverside Park<br>Leeds LS1 4AB<br>United Kingdom</address>",
         "GB", "LS1 4AB"),
        ("<p>123 Main Street, Austin, TX 78701</p>", "US", "78701"),
        ("<p>Hauptstraße 12, 10115 Berlin</p>", "DE", "10115"),
        ("<p>12 rue de la Paix, 75002 Paris, France</p>", "FR", "75002"),
        ("<p>Kerkstraat 5, 1012 AB Amsterdam</p>", "NL", "1012 AB"),
        ("<p>Mariahilfer Straße 10, A-1070 Wien</p>", "AT", "1070"),
        ("<p>Rue Neuve 20, 1000 Bruxelles, Belgique</p>", "BE", "1000"),
        ("<p>Suite 200, 100 King Street West, Toronto, ON M5X 1A9</p>", "CA", "M5X 1A9"),
        ("<p>27 Lower Dominick Street, Galway, H91 W5C8, Ireland</p>", "IE", "H91 W5C8"),
    ],
)  # fmt: skip
def test_addresses(run, html, body, country, postcode):
    [address] = contact_facts(run, html, body).of("address")
    assert address.get("country") == country
    assert address.get("postcode") == postcode
    assert address.get("po_box") is False
    assert postcode in address.evidence.snippet


def test_address_split_over_two_blocks(run, html):
    [address] = contact_facts(run, html, "<p>Musterstraße 5</p><p>50667 Köln</p>").of("address")
    assert address.get("country") == "DE"
    assert address.value.startswith("Musterstraße 5")


def test_po_box(run, html):
    [address] = contact_facts(run, html, "<p>PO Box 1234, Toronto, ON M5V 2T6</p>").of("address")
    assert (address.get("country"), address.get("po_box")) == ("CA", True)


@pytest.mark.parametrize(
    "body",
    [
        "<p>Buy 5000 Pills at once and save.</p>",
        "<p>Order 90 Tablets. Price 12345 Items</p>",
        "<p>Over 25000 Customers trust us since 2010.</p>",
    ],
)
def test_numbers_are_not_postcodes(run, html, body):
    assert contact_facts(run, html, body).of("address") == []


def test_json_ld_postal_address(run, html):
    body = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"Pharmacy","address":'
        '{"@type":"PostalAddress","streetAddress":"1 High St","postalCode":"EC1A 1BB","addressLocality":"London",'
        '"addressCountry":"United Kingdom"}}</script><p>Hello</p>'
    )
    [address] = contact_facts(run, html, body).of("address")
    assert (address.get("country"), address.get("postcode"), address.get("via")) == ("GB", "EC1A 1BB", "json_ld")


@pytest.mark.parametrize(
    ("text", "number", "country", "toll_free"),
    [
        ("Call us on 0800 123 4567", "0800 123 4567", "GB", True),
        ("Phone: +44 (0)20 7946 0958", "+44 (0)20 7946 0958", "GB", False),
        ("Toll-free: 1-800-555-0100", "1-800-555-0100", None, True),  # the US and Canada share toll-free numbers
        ("Phone (416) 555-0199", "(416) 555-0199", "CA", False),
        ("Telefon: +49 30 1234567", "+49 30 1234567", "DE", False),
        ("Tél : +33 1 23 45 67 89", "+33 1 23 45 67 89", "FR", False),
        ("Bel ons: +31 20 123 4567", "+31 20 123 4567", "NL", False),
        ("Hotline: +91 22 1234 5678", "+91 22 1234 5678", "IN", False),
    ],
)
def test_phones(run, html, text, number, country, toll_free):
    [phone] = contact_facts(run, html, f"<p>{text}</p>").of("phone")
    assert phone.value == number
    assert phone.get("country") == country
    assert phone.get("toll_free") is toll_free


@pytest.mark.parametrize(
    "text",
    [
        "Order #2024-11-05 shipped on 05.11.2024.",
        "Total: $1,234.56 for 360 pills.",
        "GPhC registration number 1234567. Company number 01234567.",
        "Reference 0123 4567 8901",  # national-looking digits without a phone word
    ],
)
def test_not_phones(run, html, text):
    assert contact_facts(run, html, f"<p>{text}</p>").of("phone") == []


def test_tel_link(run, html):
    [phone] = contact_facts(run, html, '<a href="tel:+4930123456">Anrufen</a>').of("phone")
    assert (phone.get("country"), phone.get("via")) == ("DE", "link")


def test_emails(run, html):
    body = "<p>Email: info@shop.co.uk or orders.shop@gmail.com</p><a href='mailto:sales@pharma-store.ru'>mail</a>"
    emails = {f.value: f for f in contact_facts(run, html, body).of("email")}
    assert emails["info@shop.co.uk"].get("same_site") is True
    assert emails["info@shop.co.uk"].get("free_mail") is False
    assert emails["orders.shop@gmail.com"].get("free_mail") is True
    assert emails["orders.shop@gmail.com"].get("same_site") is False
    assert emails["sales@pharma-store.ru"].get("domain") == "pharma-store.ru"


def test_obfuscated_email(run, html):
    [email] = contact_facts(run, html, "<p>Kontakt: info [at] apotheke-muster [dot] de</p>").of("email")
    assert email.value == "info@apotheke-muster.de"


@pytest.mark.parametrize(
    ("text", "name", "form", "country"),
    [
        ("© 2024 Acme Pharmacy Ltd. All rights reserved.", "Acme Pharmacy", "Ltd.", "GB"),
        ("Operated by RxGlobal Trading LLC, Wyoming.", "RxGlobal Trading", "LLC", "US"),
        ("Betreiber: Muster Apotheke GmbH & Co. KG", "Muster Apotheke", "GmbH & Co. KG", "DE"),
        ("Uitgever: Apotheek Zorg B.V.", "Apotheek Zorg", "B.V.", "NL"),
        ("Éditeur : Pharmacie du Centre SELARL", "Pharmacie du Centre", "SELARL", "FR"),
    ],
)
def test_companies(run, html, text, name, form, country):
    [company] = contact_facts(run, html, f"<p>{text}</p>").of("company")
    assert (company.get("name"), company.get("legal_form"), company.get("country_hint")) == (name, form, country)


def test_company_with_registration(run, html):
    [company] = contact_facts(run, html, "<p>Acme Pharmacy Limited, company number 12345678.</p>").of("company")
    assert company.get("registration") == "12345678"
    assert company.get("registration_valid") is True


@pytest.mark.parametrize("text", ["Limited time offer on all pills!", "Ships from Las Vegas NV 89101."])
def test_not_companies(run, html, text):
    assert contact_facts(run, html, f"<p>{text}</p>").of("company") == []
