from __future__ import annotations

import pytest

from rxcheck.facts import commerce


def commerce_facts(run, html, body: str, url: str = "https://shop.com/p", role: str = "product"):
    return run(commerce.extract, {url: (html(body), role)})


def signals(facts) -> set[str]:
    return {f.get("signal") for f in facts.of("commerce")}


@pytest.mark.parametrize(
    "button",
    ["Add to cart", "Add to basket", "Buy now", "In den Warenkorb", "Jetzt kaufen", "Ajouter au panier",
     "Commander", "In winkelwagen", "Bestellen"],
)  # fmt: skip
def test_cart_buttons(run, html, button):
    facts = commerce_facts(run, html, f"<h1>Product</h1><button>{button}</button>")
    assert signals(facts) == {"cart_button"}


def test_cart_link_and_checkout_link(run, html):
    body = '<a href="/cart/add?id=3">Add to cart</a> <a href="https://shop.com/checkout">Checkout</a>'
    assert signals(commerce_facts(run, html, body)) == {"cart_button", "checkout_link"}


def test_links_to_other_sites_do_not_count(run, html):
    body = (
        '<div><p>Viagra 100mg at PharmaX: $1.20 per pill <a href="https://pharmax.example/buy">Buy now</a></p></div>'
        '<a href="https://other-shop.example/cart">Cart</a>'
    )
    assert commerce_facts(run, html, body, url="https://compare.example/viagra").of("commerce") == []


def test_order_form(run, html):
    body = '<form action="/basket" method="post"><input name="product_id"><input name="qty"><button>Add</button></form>'
    assert "order_form" in signals(commerce_facts(run, html, body))


def test_json_ld_product_offer(run, html):
    body = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product",'
        '"name":"Sildenafil 50mg","offers":{"@type":"Offer","price":"19.99","priceCurrency":"GBP"}}</script>'
        "<p>Sildenafil</p>"
    )
    [fact] = commerce_facts(run, html, body).of("commerce")
    assert (fact.get("signal"), fact.get("text")) == ("product_offer_jsonld", "Sildenafil 50mg")


def test_price_with_buy_wording(run, html):
    facts = commerce_facts(run, html, "<p>Order Tramadol 50mg today for $1.20 per pill.</p>", role="other")
    assert signals(facts) == {"price_with_buy"}


@pytest.mark.parametrize(
    "body",
    [
        "<p>Before you order, check that the pharmacy offers a clear return policy and secure payment.</p>",
        "<p>Never buy isotretinoin from an unverified online shop.</p>",
        "<p>Learn the safest way to buy cheap generic Accutane online and compare prices.</p>",
        "<p>Beware of sites that let you buy Viagra for $1 a pill.</p>",
    ],
)
def test_articles_are_not_commerce(run, html, body):
    assert commerce_facts(run, html, body, url="https://blog.example/isotretinoin", role="other").of("commerce") == []


def test_prescription_upload_form(run, html):
    body = (
        '<form action="/rx/upload" method="post" enctype="multipart/form-data"><input type="file" name="file"></form>'
    )
    [step] = commerce_facts(run, html, body, role="prescriptions").of("prescription_step")
    assert (step.value, step.get("via"), step.get("status")) == ("upload", "form", "asserted")


def test_file_upload_unrelated_to_prescriptions(run, html):
    body = '<form action="/jobs/apply" method="post"><input type="file" name="cv"></form>'
    assert commerce_facts(run, html, body, role="other").of("prescription_step") == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Upload your prescription at checkout.", "upload"),
        ("Send us your NHS prescription: nominate us as your pharmacy.", "e_prescription"),
        ("E-Rezept einlösen: einfach per App.", "e_prescription"),
        ("Vous pouvez télécharger votre ordonnance en ligne.", "upload"),
        ("Your doctor can send the prescription directly to us.", "prescriber_contact"),
        ("Wij nemen contact op met uw arts.", "prescriber_contact"),
        ("Book an online consultation with our doctors.", "consultation"),
        ("Téléconsultation avec un médecin en 10 minutes.", "consultation"),
        ("Complete a short medical questionnaire.", "questionnaire"),
        ("Füllen Sie den medizinischen Fragebogen aus.", "questionnaire"),
        ("Please post your original prescription to our pharmacy.", "mail_original"),
        ("Stuur het originele recept op.", "mail_original"),
    ],
)
def test_prescription_steps_in_text(run, html, text, kind):
    steps = commerce_facts(run, html, f"<p>{text}</p>", role="prescriptions").of("prescription_step")
    assert kind in {s.value for s in steps}
    assert all(s.get("via") == "text" for s in steps)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Buy Tramadol online – no prescription needed!", "asserted"),
        ("Viagra ohne Rezept bestellen", "asserted"),
        ("Cialis sans ordonnance, livraison rapide", "asserted"),
        ("Sildenafil zonder recept", "asserted"),
        ("We never sell medicines without a prescription.", "negated"),
        ("Beware of websites that sell medicines without a prescription.", "warning"),
        ("Can I buy Viagra without a prescription?", "question"),
    ],
)
def test_no_prescription_claims(run, html, text, status):
    [claim] = commerce_facts(run, html, f"<p>{text}</p>").of("no_prescription_claim")
    assert claim.get("status") == status


@pytest.mark.parametrize(
    ("text", "medicine", "rx_class"),
    [
        ("Buy Tramadol 50mg without a prescription.", "tramadol", "controlled"),
        ("Viagra Connect (sildenafil 50mg) is a pharmacy medicine: it can be sold without a prescription.",
         "sildenafil", "otc"),
        ("Fexofenadine 120mg is available without a prescription.", "fexofenadine", "otc"),
        ("Order online today without a prescription.", None, None),
    ],
)  # fmt: skip
def test_no_prescription_claim_names_its_medicine(run, html, text, medicine, rx_class):
    [claim] = commerce_facts(run, html, f"<p>{text}</p>").of("no_prescription_claim")
    assert (claim.get("medicine"), claim.get("rx_class")) == (medicine, rx_class)


def test_quoted_advert_in_an_article(run, html):
    text = "<p>Adverts promised “Ozempic pens, no prescription needed” for $49.</p>"
    [claim] = commerce_facts(run, html, text, role="other").of("no_prescription_claim")
    assert claim.get("status") == "quoted"


def test_negation_several_words_before(run, html):
    text = "<p>We do not dispense on the basis of online questionnaires.</p>"
    [step] = commerce_facts(run, html, text, role="prescriptions").of("prescription_step")
    assert (step.value, step.get("status")) == ("questionnaire", "negated")


@pytest.mark.parametrize(
    ("body", "signal"),
    [
        ('<a href="https://wa.me/13055550192?text=I%20want%20to%20order%20pens">Message us</a>', "message_order"),
        ('<a href="/transfer/">Transfer a prescription</a>', "order_link"),
        ('<a href="/e-rezept/">E-Rezept einlösen</a>', "order_link"),
        (
            '<form action="/start/"><label><input type="radio" name="pack"> 20 mg × 180 capsules $289</label>'
            "<button>Start visit</button></form>",
            "order_form",
        ),
        (
            '<form action="https://portal.shop.com/transfer" method="post"><input name="rx_number">'
            "<button>Submit transfer request</button></form>",
            "order_form",
        ),
    ],
)
def test_other_order_paths(run, html, body, signal):
    assert signal in signals(commerce_facts(run, html, body, url="https://www.shop.com/", role="home"))


def test_whatsapp_contact_without_ordering_is_not_commerce(run, html):
    body = '<a href="https://wa.me/13055550192">Chat with a pharmacist</a>'
    assert commerce_facts(run, html, body, url="https://www.shop.com/", role="home").of("commerce") == []


def test_contact_form_is_not_an_order_form(run, html):
    body = '<form action="/contact/send" method="post"><input name="email"><textarea name="message"></textarea></form>'
    assert commerce_facts(run, html, body, url="https://www.shop.com/contact", role="contact").of("commerce") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Start consultation", {"order_link"}), ("Start your free hair loss consultation", {"order_link"}),
     ("Book a consultation", set())],
)  # fmt: skip
def test_online_doctor_consultation_is_an_order_path(run, html, text, expected):
    body = f'<h1>Erectile dysfunction treatment</h1><a href="/consultation/start/">{text}</a>'
    assert signals(commerce_facts(run, html, body, role="home")) == expected
