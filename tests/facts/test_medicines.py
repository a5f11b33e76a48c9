from __future__ import annotations

import pytest

from rxcheck.facts import medicines
from rxcheck.facts.medicines import MedicineIndex

# Sentences from the project's seed article (shared/domain/seed-article.txt): a patient guide, not a shop.
SEED_ARTICLE = """\
If you’ve tried every over‑the‑counter acne product and still see stubborn breakouts, your doctor might suggest \
isotretinoin.
Never buy isotretinoin from an unverified online shop. Look for pharmacies that require a valid prescription, display \
a licence number, and are based in a country with strict pharmacy regulations. In the UK and EU, reputable online \
pharmacies will ask for a copy of your doctor’s prescription and may even arrange a tele‑consultation.
Before you order, check that the pharmacy offers a clear return policy, secure payment, and trackable shipping. If a \
price looks too good to be true, it probably is – counterfeit pills can be ineffective or dangerous.
Learn the safest way to buy cheap generic Accutane online, understand legal requirements, compare prices, avoid \
counterfeit meds, and protect your health.
"""


def test_reference_has_enough_medicines(reference):
    table = reference.get("medicines")["medicines"]
    assert len(table) >= 60
    classes = {entry["name"]: entry["rx_class"] for entry in table}
    for name in ("tramadol", "oxycodone", "alprazolam", "zolpidem", "modafinil", "pregabalin", "gabapentin"):
        assert classes[name] == "controlled", name
    assert classes["paracetamol"] == "otc"
    brand_only = {entry["name"] for entry in table if entry.get("brand_only")}
    assert {"semaglutide", "tirzepatide"} <= brand_only
    assert "liraglutide" not in brand_only  # generic approved in the US in 2024


@pytest.mark.parametrize(
    ("text", "medicine", "kind"),
    [
        ("Buy VIAGRA now", "sildenafil", "brand"),
        ("Isotretinoin 20 mg Kapseln", "isotretinoin", "generic"),
        ("isotrétinoïne 20 mg", "isotretinoin", "generic"),
        ("isotretinoïne capsules", "isotretinoin", "generic"),
        ("Kamagra Oral Jelly", "sildenafil", "unapproved"),
        ("Co-codamol 30/500", "codeine", "generic"),
        ("Viagra Connect 50mg", "sildenafil", "brand"),
        ("Sildenafil100mg tablets", "sildenafil", "generic"),
    ],
)
def test_index_finds_names_in_any_language(pack, text, medicine, kind):
    [mention] = pack.medicines.find(text)
    assert (mention.medicine.name, mention.kind) == (medicine, kind)


@pytest.mark.parametrize("text", ["Ask a specialist today", "A candlelight vigil", "The Norco city council"])
def test_index_ignores_words_containing_names(pack, text):
    assert pack.medicines.find(text) == []


def test_empty_reference_finds_nothing():
    assert MedicineIndex({"medicines": []}).find("viagra") == []


def test_medicine_fact_aggregates_pages(run, html):
    facts = run(
        medicines.extract,
        {
            "https://shop.com/": (html("<p>Best prices on Viagra and Cialis</p>"), "home"),
            "https://shop.com/viagra": (
                html("<h1>Generic Viagra (Sildenafil) 100mg</h1><p>$0.45 per pill</p>", title="Viagra 100mg"),
                "product",
            ),  # fmt: skip
            "https://shop.com/faq": (html("<p>Is sildenafil safe with alcohol?</p>"), "faq"),
        },
    )
    sildenafil = next(f for f in facts.of("medicine") if f.value == "sildenafil")
    assert sildenafil.get("rx_class") == "prescription_only"
    assert sildenafil.get("pages") == 3
    assert sildenafil.get("roles") == ["faq", "home", "product"]
    assert sildenafil.get("on_product_page") is True
    assert set(sildenafil.get("names")) == {"Viagra", "Sildenafil"}  # as written, case-insensitively unique
    assert sildenafil.evidence.url == "https://shop.com/viagra"  # the strongest mention
    tadalafil = next(f for f in facts.of("medicine") if f.value == "tadalafil")
    assert tadalafil.get("on_product_page") is False


def test_controlled_and_unapproved(run, html):
    facts = run(medicines.extract, {"https://pills.biz/": (html("<p>Tramadol 100mg, Modalert 200</p>"), "home")})
    by_name = {f.value: f for f in facts.of("medicine")}
    assert by_name["tramadol"].get("rx_class") == "controlled"
    assert by_name["tramadol"].get("high_risk") is True
    assert by_name["modafinil"].get("unapproved_names") == ["Modalert"]


def test_offers(run, html):
    facts = run(
        medicines.extract,
        {
            "https://shop.com/accutane": (html("<h1>Accutane 20mg</h1><p>Take with food.</p>", "Accutane"), "product"),
            "https://shop.com/shop": (html('<ul><li><a href="/x">Xanax 2mg</a></li></ul>'), "category"),
            "https://shop.com/": (
                html("<div><p>Tramadol 50mg – $1.20 per pill</p></div><button>Buy Ambien</button>"),
                "home",
            ),  # fmt: skip
        },
    )
    offers = {f.value: f for f in facts.of("offer")}
    assert offers["isotretinoin"].get("via") == "product_page"
    assert offers["alprazolam"].get("via") == "category_page"
    assert offers["tramadol"].get("via") == "price"
    assert offers["tramadol"].get("rx_class") == "controlled"
    assert offers["zolpidem"].get("via") == "buy_wording"


def test_generic_of_brand_only(run, html):
    facts = run(medicines.extract, {"https://shop.com/": (html("<p>Generic Ozempic pen only $49</p>"), "home")})
    [offer] = facts.of("offer")
    assert offer.value == "semaglutide"
    assert offer.get("generic_of_brand_only") is True
    assert offer.get("brand_only") is True


def test_brand_ozempic_is_not_generic_of_brand_only(run, html):
    facts = run(medicines.extract, {"https://shop.com/": (html("<p>Ozempic 1mg pen £199</p>"), "home")})
    [offer] = facts.of("offer")
    assert offer.get("generic_of_brand_only") is False


@pytest.mark.parametrize(
    "text",
    [
        "Never buy isotretinoin from an unverified online shop.",
        "Ask your doctor whether Viagra is right for you; prices vary between pharmacies and insurers, "
        "and in the US a month of Ozempic has a list price of about $940, while in France it costs far less, "
        "according to a 2024 study of list prices.",
    ],
)
def test_articles_do_not_offer(run, html, text):
    assert run(medicines.extract, {"https://blog.com/": (html(f"<p>{text}</p>"), "other")}).of("offer") == []


def test_seed_article_offers_nothing(run, html):
    body = "".join(f"<p>{line}</p>" for line in SEED_ARTICLE.splitlines())
    facts = run(medicines.extract, {"https://blog.com/isotretinoin": (html(body, "Isotretinoin guide"), "home")})
    assert facts.of("offer") == []
    assert [f.value for f in facts.of("medicine")] == ["isotretinoin"]
