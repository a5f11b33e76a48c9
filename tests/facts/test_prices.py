from __future__ import annotations

import pytest

from rxcheck.facts import Facts, prices
from rxcheck.facts.prices import parse_amount


def price_facts(run, html, body: str, role: str = "product", title: str = ""):
    return run(prices.extract, {"https://shop.com/p": (html(body, title), role)})


def one_price(run, html, body: str, **options):
    found = price_facts(run, html, body, **options).of("price")
    assert len(found) == 1, [(f.value, f.get("currency")) for f in found]
    return found[0]


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("12,50", 12.5), ("12.50", 12.5), ("1.299,00", 1299.0), ("1,299.00", 1299.0), ("1,250", 1250.0),
     ("0.455", 0.455), ("49", 49.0), ("1 250,00", 1250.0)],
)  # fmt: skip
def test_parse_amount(raw, amount):
    assert parse_amount(raw) == amount


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [("€ 12,50", 12.5, "EUR"), ("12,50 €", 12.5, "EUR"), ("£1.99", 1.99, "GBP"), ("CAD 45.00", 45.0, "CAD"),
     ("C$45", 45.0, "CAD"), ("US$ 10", 10.0, "USD"), ("99 euros", 99.0, "EUR"), ("₹ 250", 250.0, "INR"),
     ("CHF 19.90", 19.9, "CHF")],
)  # fmt: skip
def test_money_formats(pack, text, amount, currency):
    [money] = pack.prices.find(f"Price: {text} only")
    assert (money.amount, money.currency) == (amount, currency)


def test_bare_dollar_is_assumed_usd(pack):
    [money] = pack.prices.find("$49")
    assert (money.currency, money.assumed) == ("USD", True)


def test_price_for_pack(run, html):
    fact = one_price(run, html, "<p>Sildenafil 50mg: £1.99 for 4 tablets. Call 0800 123 4567.</p>")
    assert fact.value == 1.99
    assert (fact.get("pack_size"), fact.get("unit"), fact.get("per_unit")) == (4, "tablet", 0.4975)
    assert (fact.get("medicine"), fact.get("strength"), fact.get("brand")) == ("sildenafil", "50mg", False)
    assert fact.get("rx_class") == "prescription_only"
    assert fact.get("reference_per_unit") == 0.35
    assert fact.get("ratio") == pytest.approx(1.421, abs=0.001)
    assert "£1.99" in fact.evidence.snippet


@pytest.mark.parametrize(
    "text",
    ["Call 0800 123 4567 today", "Established in 2024, 5000 happy customers", "GPhC 1234567", "Take 2 tablets daily"],
)
def test_numbers_that_are_not_prices(run, html, text):
    assert price_facts(run, html, f"<p>{text}</p>").of("price") == []


def test_pills_times_unit_price(run, html):
    fact = one_price(run, html, "<p>Isotretinoin 40mg 90 pills x $0.45</p>")
    assert (fact.get("pack_size"), fact.get("per_unit"), fact.get("unit")) == (90, 0.45, "pill")
    assert fact.get("reference_per_unit") == 1.0
    assert fact.get("ratio") == 0.45


def test_per_pen_semaglutide_is_far_below_reference(run, html):
    fact = one_price(run, html, "<p>Ozempic 1mg: $49 per pen</p>")
    assert (fact.get("medicine"), fact.get("brand"), fact.get("unit"), fact.get("per_unit")) == (
        "semaglutide",
        True,
        "pen",
        49.0,
    )
    assert fact.get("reference_per_unit") == 499.0
    assert fact.get("ratio") < 0.3


def test_from_price_per_pill(run, html):
    fact = one_price(run, html, "<p>Accutane 20mg from $0.39 per pill</p>")
    assert (fact.get("from"), fact.get("per_unit"), fact.get("brand")) == (True, 0.39, True)


def test_brand_price_compared_with_brand_reference(run, html):
    fact = one_price(run, html, "<p>Viagra 50mg 8 tablets £39.99</p>")
    assert fact.get("brand") is True
    assert fact.get("reference_per_unit") == 5.0
    assert fact.get("ratio") == pytest.approx(1.0, abs=0.01)


def test_reference_converted_into_price_currency(run, html):
    fact = one_price(run, html, "<p>Tadalafil 20 mg – 12,50 € für 4 Tabletten</p>")
    assert (fact.get("currency"), fact.get("per_unit")) == ("EUR", 3.125)
    # no EU row: the lowest generic row of any market is taken (US $0.15), converted into euros
    assert fact.get("reference_per_unit") == pytest.approx(0.15 * 0.933, abs=0.001)


def test_german_per_tablet(run, html):
    fact = one_price(run, html, "<p>Cialis 20mg € 7,00 pro Tablette</p>")
    assert (fact.get("per_unit"), fact.get("unit"), fact.get("brand")) == (7.0, "tablet", True)


def test_price_table_with_header(run, html):
    body = (
        "<h2>Generic Viagra (Sildenafil) 100mg</h2><table>"
        "<thead><tr><th>Package</th><th>Per pill</th><th>Price</th><th>Savings</th></tr></thead><tbody>"
        "<tr><td>90 pills</td><td>$0.45</td><td>$40.50</td><td>Save $27.00</td></tr>"
        "<tr><td>180 pills + 10 free pills</td><td>$0.39</td><td>$70.20</td><td></td></tr>"
        "</tbody></table>"
    )
    facts = price_facts(run, html, body)
    rows = sorted(facts.of("price"), key=lambda f: f.value)
    assert [(f.value, f.get("pack_size"), f.get("per_unit")) for f in rows] == [(40.5, 90, 0.45), (70.2, 180, 0.39)]
    assert all(f.get("medicine") == "sildenafil" and f.get("strength") == "100mg" for f in rows)
    assert all(f.get("brand") is False and f.get("context") == "row" for f in rows)  # "Generic Viagra"
    [bonus] = facts.of("bonus_pills")
    assert bonus.value == 10


def test_price_table_without_header_checks_division(run, html):
    body = "<p>Tadalafil 20mg</p><table><tr><td>30 tabs</td><td>$27.00</td><td>$0.90</td></tr></table>"
    [fact] = price_facts(run, html, body).of("price")
    assert (fact.value, fact.get("per_unit"), fact.get("medicine")) == (27.0, 0.9, "tadalafil")


def test_product_card(run, html):
    body = '<div class="card"><h3>Finasteride 1mg</h3><p class="size">28 tablets</p><p class="price">£12.99</p></div>'
    fact = one_price(run, html, body, role="category")
    assert (fact.get("medicine"), fact.get("strength")) == ("finasteride", "1mg")


def test_product_page_title_names_the_medicine(run, html):
    fact = one_price(run, html, "<p class='price'>£29.99</p>", title="Propecia 1mg – 28 tablets")
    assert fact.get("medicine") == "finasteride"
    assert fact.get("brand") is True


@pytest.mark.parametrize(
    "text", ["Free shipping on orders over $50", "Versandkosten 3,95 €", "You save $27.00", "$10 off your first order"]
)
def test_shipping_and_savings_are_not_prices(run, html, text):
    assert price_facts(run, html, f"<p>{text}</p>").of("price") == []


@pytest.mark.parametrize(
    ("text", "count"),
    [("+ 10 free pills", 10), ("4 bonus pills with every order", 4), ("Bonus: 12 pills", 12),
     ("10 Tabletten gratis", 10), ("4 comprimés offerts", 4)],
)  # fmt: skip
def test_bonus_pills(run, html, text, count):
    [bonus] = price_facts(run, html, f"<p>{text}</p>").of("bonus_pills")
    assert bonus.value == count == bonus.get("count")


@pytest.mark.parametrize(
    ("text", "percent"),
    [("70% off all orders", 70), ("Save up to 80%", 80), ("Summer sale -50% on ED pills", 50),
     ("Jusqu'à -70% sur tout", 70), ("20% Rabatt", 20), ("15% korting", 15)],
)  # fmt: skip
def test_discounts(run, html, text, percent):
    [discount] = price_facts(run, html, f"<p>{text}</p>").of("discount")
    assert discount.value == percent == discount.get("percent")


@pytest.mark.parametrize("text", ["100% secure checkout", "Between 10-15% of patients", "99% satisfaction"])
def test_not_discounts(run, html, text):
    assert price_facts(run, html, f"<p>{text}</p>").of("discount") == []


def test_reference_tables_are_sourced_and_dated(reference):
    rows = reference.get("prices")["prices"]
    assert rows and all(row.get("source") and row.get("as_of") for row in rows)
    rates = reference.get("currencies")
    assert rates["as_of"] and rates["rates"]["USD"] == 1.0
    assert {row["currency"] for row in rows} <= set(rates["rates"])


def test_price_quoted_from_an_advert(run, html):
    fact = one_price(run, html, "<p>Adverts offered “Ozempic pens for $49 each” on social media.</p>", role="other")
    assert fact.get("status") == "quoted"
    assert one_price(run, html, "<p>Ozempic 1mg pen $49</p>").get("status") == "asserted"


def test_unknown_product_does_not_borrow_the_heading_medicine(run, html):
    body = "<h2>Eliquis</h2><table><tr><td>Zontivity 2.08mg</td><td>90</td><td>$165.00</td></tr></table>"
    assert one_price(run, html, body).get("medicine") is None


def test_retail_price_column_is_not_the_sellers_price(run, html):
    body = (
        "<table><tr><th>Medicine</th><th>Quantity</th><th>US retail</th><th>Our price</th></tr>"
        "<tr><td>Eliquis 5mg</td><td>180 tablets</td><td>$1,654.00</td><td>$189.00</td></tr></table>"
    )
    fact = one_price(run, html, body)
    assert (fact.value, fact.get("pack_size"), fact.get("per_unit")) == (189.0, 180, 1.05)


def test_inline_elements_run_together(run, html):
    body = '<div><h3>Viagra</h3><p><span>$0.44</span>per pill<a href="/viagra">Buy Now</a></p></div>'
    fact = one_price(run, html, body, role="category")
    assert (fact.get("per_unit"), fact.get("unit"), fact.get("medicine")) == (0.44, "pill", "sildenafil")


def test_free_shipping_threshold(run, html):
    assert price_facts(run, html, "<p>Free AirMail shipping for orders $200+</p>").of("price") == []


@pytest.mark.parametrize(
    "body", ["<table><tr><td>Ozempic 1mg pen</td><td>$49.00</td></tr></table>", "<p>Ozempic 1mg pen – $49.00</p>"]
)
def test_single_pen_without_a_count(run, html, body):
    fact = one_price(run, html, body)
    assert (fact.get("pack_size"), fact.get("unit"), fact.get("per_unit")) == (1, "pen", 49.0)
    assert fact.get("ratio") < 0.33


def test_pen_needles_are_not_a_pen(run, html):
    assert one_price(run, html, "<p>Pen needles 4mm, box of 100 – £9.99</p>", role="other").get("unit") is None


def test_unit_and_pack_words_come_from_the_lexicon(tmp_path):
    """A pack adds a language's unit words as data: "por 10 comprimidos" reads as a pack of 10 tablets."""
    from sites import build_site

    from rxcheck.engine.loader import load_pack

    lexicon = tmp_path / "reference" / "lexicon"
    lexicon.mkdir(parents=True)
    (lexicon / "xx.yaml").write_text(
        "unit_tablet: [comprimido, comprimidos]\npack_price_for: [por]\nbonus_word: [de regalo]\nstrength_unit: [ui]\n"
    )
    local = load_pack([tmp_path])
    site = build_site({"https://shop.com/p": ("<p>Sildenafilo 50 mg: 5,00 € por 10 comprimidos</p>", "product")})
    [fact] = Facts(prices.extract(site, local)).of("price")
    assert (fact.get("pack_size"), fact.get("unit"), fact.get("per_unit")) == (10, "tablet", 0.5)
    site = build_site({"https://shop.com/p": ("<p>Colecalciferol 1000 UI: 5,00 € por 10 comprimidos</p>", "product")})
    [fact] = Facts(prices.extract(site, local)).of("price")
    assert fact.get("strength") == "1000ui"
    site = build_site({"https://shop.com/p": ("<p>+ 4 de regalo comprimidos</p>", "product")})
    assert [f.value for f in Facts(prices.extract(site, local)).of("bonus_pills")] == [4]


def test_per_unit_word_needs_a_word_end(run, html):
    """ "$2 per pillBuy Now": inline elements run together, the capital starts a new word."""
    fact = one_price(run, html, "<p>Sildenafil 50mg $2 per pillBuy Now</p>")
    assert (fact.get("unit"), fact.get("per_unit")) == ("pill", 2.0)
