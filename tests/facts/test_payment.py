from __future__ import annotations

import pytest

from rxcheck.facts import payment


def payment_facts(run, html, body: str, url: str = "https://shop.com/payment", role: str = "payment"):
    return run(payment.extract, {url: (html(body), role)})


def methods(facts, via: str = "text", status: str = "asserted") -> set[str]:
    return {f.value for f in facts.of("payment_method") if f.get("via") == via and f.get("status") == status}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We accept Visa, MasterCard, American Express and PayPal.", {"visa", "mastercard", "amex", "paypal"}),
        ("Pay by Bitcoin, Western Union or MoneyGram only.", {"crypto", "western_union", "moneygram"}),
        ("Payment by bank wire transfer or eCheck.", {"wire_transfer", "echeck"}),
        ("Wir akzeptieren Überweisung (Vorkasse), PayPal, Kauf auf Rechnung und SEPA-Lastschrift.",
         {"bank_transfer", "paypal", "invoice", "sepa"}),
        ("Paiement par carte bancaire ou virement bancaire.", {"card", "bank_transfer"}),
        ("Betaal met iDEAL, Klarna of creditcard.", {"ideal", "klarna", "card"}),
        ("Apple Pay and Google Pay accepted. Cash on delivery available.",
         {"apple_pay", "google_pay", "cash_on_delivery"}),
    ],
)  # fmt: skip
def test_payment_methods_in_text(run, html, text, expected):
    assert methods(payment_facts(run, html, f"<p>{text}</p>")) == expected


def test_negated_method(run, html):
    facts = payment_facts(run, html, "<p>We accept Visa. We do not accept Western Union.</p>")
    assert methods(facts) == {"visa"}
    assert methods(facts, status="negated") == {"western_union"}


@pytest.mark.parametrize(
    "text", ["You do not need a visa application to order.", "This is the ideal treatment for you.", "Add to cart"]
)
def test_not_payment_methods(run, html, text):
    assert payment_facts(run, html, f"<p>{text}</p>").of("payment_method") == []


def test_payment_logos(run, html):
    body = '<img src="/img/visa.svg" alt="Visa"><img src="/img/logo-mastercard.png"><img src="/b.png" alt="Bitcoin">'
    assert methods(payment_facts(run, html, body), via="image") == {"visa", "mastercard", "crypto"}


def test_long_alt_text_is_a_description_not_a_logo(run, html):
    body = '<img src="/img/photo.jpg" alt="Our ideal pharmacy team packing orders for delivery">'
    assert payment_facts(run, html, body).of("payment_method") == []


def test_card_form_fields(run, html):
    body = '<form action="/pay" method="post"><input name="card_number"><input name="cvv"></form>'
    assert methods(payment_facts(run, html, body), via="form") == {"card"}


@pytest.mark.parametrize(
    ("text", "descriptor"),
    [
        ('The charge will appear on your statement as "HK Trading Ltd".', "HK Trading Ltd"),
        ("Please note: the billing descriptor is GLOBALMEDS*SUPPORT", "GLOBALMEDS*SUPPORT"),
        ("Die Abbuchung erscheint auf Ihrem Kontoauszug als „MedService“.", "MedService"),
        ("Le paiement apparaîtra sur votre relevé sous le nom de XYZ Services.", "XYZ Services"),
    ],
)
def test_masked_descriptor(run, html, text, descriptor):
    [fact] = payment_facts(run, html, f"<p>{text}</p>").of("masked_descriptor")
    assert fact.value == descriptor
    assert fact.get("mentions_site") is False


def test_descriptor_naming_the_site(run, html):
    text = "<p>The charge appears on your statement as TALLGRASS MAIL PHARMACY OMAHA NE.</p>"
    [fact] = payment_facts(run, html, text, url="https://www.tallgrassmailrx.com/faq/").of("masked_descriptor")
    assert fact.value == "TALLGRASS MAIL PHARMACY OMAHA NE"
    assert fact.get("mentions_site") is True


@pytest.mark.parametrize(
    "text",
    [
        "Card payments and PayPal are not accepted because banks block them.",
        "Zahlung per Kreditkarte ist nicht möglich.",
        "Betalen met creditcard is niet mogelijk.",
    ],
)
def test_methods_negated_after_the_name(run, html, text):
    facts = payment_facts(run, html, f"<p>{text}</p>")
    assert methods(facts) == set()
    assert methods(facts, status="negated")


def test_payment_methods_in_a_long_image_alt(run, html):
    body = '<img src="/assets/cards.svg" alt="We accept Visa, Mastercard, American Express, Apple Pay and Google Pay">'
    assert {"visa", "mastercard", "amex", "apple_pay", "google_pay"} <= methods(payment_facts(run, html, body), "image")


def test_credit_and_debit_cards(run, html):
    assert methods(payment_facts(run, html, "<p>We take all credit and debit cards.</p>")) == {"card"}


def test_after_order_fee(run, html):
    facts = payment_facts(run, html, "<p>Customs clearance fees must be paid after your order is shipped.</p>")
    [fee] = facts.of("after_order_fee")
    assert fee.get("after_order") is True
    assert fee.get("status") == "asserted"


def test_customs_mentioned_without_payment_after_order(run, html):
    [fee] = payment_facts(run, html, "<p>Orders outside the UK may be subject to import duties.</p>").of(
        "after_order_fee"
    )
    assert fee.get("after_order") is False


def test_insecure_checkout_form(run, html):
    body = '<form action="http://shop.com/checkout" method="post"><input name="card_number"><input name="cvv"></form>'
    [fact] = payment_facts(run, html, body).of("insecure_form")
    assert fact.get("reason") == "form_action_http"
    assert fact.get("data") == ["checkout", "payment"]
    assert fact.get("fields") == ["card_number", "cvv"]


def test_secure_checkout_form(run, html):
    body = '<form action="https://shop.com/checkout" method="post"><input name="card_number"></form>'
    assert payment_facts(run, html, body).of("insecure_form") == []


def test_search_form_over_http_is_not_sensitive(run, html):
    body = '<form action="/search"><input name="q"></form>'
    assert payment_facts(run, html, body, url="http://shop.com/").of("insecure_form") == []


def test_checkout_page_served_over_http(run, html):
    facts = payment_facts(run, html, "<p>Your basket</p>", url="http://shop.com/checkout/", role="other")
    [fact] = facts.of("insecure_form")
    assert fact.get("reason") == "page_http"


def test_pictures_of_fake_shops_are_not_payment_logos(run, html):
    body = '<img src="/img/fake-listing.png" alt="Screenshot of a fake Ozempic listing asking for crypto payment">'
    assert payment_facts(run, html, body).of("payment_method") == []


def test_no_customs_charges_is_negated(run, html):
    [fee] = payment_facts(run, html, "<p>UK delivery is free and there are no customs charges.</p>").of(
        "after_order_fee"
    )
    assert fee.get("status") == "negated"
