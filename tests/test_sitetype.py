"""The site-type stage: what kind of site this is, from all its evidence, through the whole assess path."""

import pytest
from sites import build_site, page


def assess(checker, pages: dict[str, str], jurisdiction: str = "auto"):
    site = build_site({url: (html, "home" if i == 0 else "other") for i, (url, html) in enumerate(pages.items())})
    return checker.assess(site, jurisdiction)


def signals(result) -> set[str]:
    return {e.signal for e in result.site_type.evidence}


NHS_DISPENSER = page(
    "<h1>Brookside Pharmacy</h1><p>Nominate us as your pharmacy and your GP will send your NHS prescriptions "
    "straight to us. We dispense every prescription and deliver free across Leeds.</p>"
    "<p><a href='/basket'>Basket (0)</a></p>"
    "<footer><p>© 2026 Brookside Pharmacy Ltd, 14 Kirkgate, Leeds LS2 7DJ. GPhC registration 1123456.</p></footer>",
    title="Brookside Pharmacy | NHS prescriptions",
)
PRESCRIPTION_ONLY_DISPENSER = page(
    "<h1>Riverbend Community Pharmacy</h1><p>We fill prescriptions for the whole family. Transfer your prescription "
    "to us in two minutes, or request a refill online and pick it up the same day.</p>"
    "<p>Riverbend Community Pharmacy, 220 Main Street, Brandon, MB R7A 1J8. Tel. 204-555-0182.</p>",
    title="Riverbend Community Pharmacy",
)
ROGUE_PAYMENT_PAGE = page(
    "<h2>Payment</h2><p>We accept payment by bank transfer with OUR fees or by Bitcoin. Most of our customers do not "
    "have prescriptions, so we cannot offer card payments. Send the transfer and e-mail us the receipt; we ship the "
    "same day.</p>",
    title="Payment | AnaboLab",
)
ROGUE_PRODUCT_PAGE = page(
    "<h1>Isotretinoin 20mg Without a Prescription</h1><p>Isotretinoin 20mg capsules: 30 capsules $59, 90 capsules "
    "$149, 180 capsules $259. To order, email us the pack you want and your address, and we ship worldwide in "
    "discreet packaging.</p>",
    title="Isotretinoin without prescription",
)
HEALTH_ARTICLE = page(
    "<h1>Buying medicines online: what to watch for</h1><p>By Dr Jane Hill · Published 3 March 2026</p>"
    "<p>Some websites advertise “isotretinoin, no prescription needed, $1 a capsule”. Ask your doctor before you "
    "take it, and talk to your pharmacist about side effects. Patients who buy from such sites risk counterfeit "
    "medicines. If you are unsure, ask your pharmacist.</p><p>Last updated 4 March 2026. Sources: MHRA.</p>",
    title="Buying medicines online safely | Northfield Health News",
)
ROGUE_HEADLINE_PAGE = page(
    "<h1>Isotretinoin Without a Prescription</h1><p>Isotretinoin 20mg capsules without a prescription: 30 capsules "
    "for $39, 90 capsules for $99, 180 capsules for $179.</p><p>Isotretinoin treats severe acne.</p>",
    title="Isotretinoin 20mg",
)
DRUG_INFORMATION = page(
    "<h1>Isotretinoin</h1><p>Isotretinoin is a retinoid for severe acne, prescribed by dermatologists.</p>"
    "<table><tr><td>Isotretinoin 20 mg, 30 capsules</td><td>about 42 €</td></tr></table>"
    "<p>We do not sell medicines. Ask your doctor or pharmacist about side effects.</p>",
    title="Isotretinoin | Arzneimittel-Lexikon",
)
PRICE_COMPARISON = page(
    "<h1>Compare sildenafil prices</h1><table><tr><td>Sildenafil 50mg, 8 tablets £3.99 "
    "<a href='https://www.pharmacy-one.example/sildenafil'>Buy at Pharmacy One</a></td></tr>"
    "<tr><td>Sildenafil 50mg, 8 tablets £4.49 <a href='https://www.pharmacy-two.example/s'>Buy at Pharmacy Two</a>"
    "</td></tr></table>",
    title="Sildenafil price comparison | PillCompare",
)


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        ({"https://www.brooksidepharmacy.co.uk/": NHS_DISPENSER}, "pharmacy"),
        ({"https://www.riverbendpharmacy.ca/": PRESCRIPTION_ONLY_DISPENSER}, "pharmacy"),
        ({"https://anabolab.example/payment": ROGUE_PAYMENT_PAGE}, "pharmacy"),
        ({"https://acne-pills.example/isotretinoin": ROGUE_PRODUCT_PAGE}, "pharmacy"),
        ({"https://www.arzneimittel-lexikon.example/isotretinoin": DRUG_INFORMATION}, "information"),
        ({"https://news.northfield.example/buying-medicines-online": HEALTH_ARTICLE}, "information"),
        ({"https://www.pillcompare.example/sildenafil": PRICE_COMPARISON}, "information"),
    ],
)
def test_the_site_type_weighs_all_the_evidence(checker, pages, expected):
    result = assess(checker, pages)
    assert result.site_type.type == expected, result.site_type
    assert result.site_type.evidence, "a site type always comes with its evidence"


def test_dispensers_without_a_shop_are_pharmacies(checker):
    result = assess(checker, {"https://www.riverbendpharmacy.ca/": PRESCRIPTION_ONLY_DISPENSER})
    assert "dispenses" in signals(result)
    assert result.verdict != "not_a_pharmacy"


def test_a_price_list_under_a_no_prescription_headline_is_never_called_not_a_pharmacy(checker):
    """No cart, no order wording, no first person: too little to call it a pharmacy, too much to let it go."""
    result = assess(checker, {"https://acne-pills.example/isotretinoin-20mg": ROGUE_HEADLINE_PAGE})
    assert result.site_type.type == "unknown" and "states_red_flag" in signals(result)
    assert result.verdict == "suspicious" and result.red_flags()


@pytest.mark.parametrize("html", [ROGUE_PAYMENT_PAGE, ROGUE_PRODUCT_PAGE])
def test_a_sellers_own_red_flags_are_never_dropped(checker, html):
    result = assess(checker, {"https://rogue-shop.example/page": html})
    assert result.verdict in ("rogue", "suspicious")
    assert result.red_flags()
    voiced = [e for e in result.site_type.evidence if e.signal == "seller_red_flag"]
    assert voiced and voiced[0].rule in {f.rule for f in result.red_flags()}


def test_an_article_quoting_an_advert_is_not_a_pharmacy_and_says_why(checker):
    result = assess(checker, {"https://news.northfield.example/buying-medicines-online": HEALTH_ARTICLE})
    assert result.verdict == "not_a_pharmacy"
    assert not result.red_flags()
    assert result.verdict_reason.startswith("not a pharmacy: ")
    assert {"advice_voice", "talks_about_sellers"} <= signals(result)


def test_a_sellers_words_quoted_in_a_forum_post_are_not_the_forums(checker):
    forum = page(
        "<h1>Is this pharmacy legit?</h1><p>Posted by u/anna · 12 replies</p><p>Here is what they sent me:</p>"
        "<blockquote><p>Dear customer, we ship your order today. We accept Bitcoin only, no prescription needed.</p>"
        "</blockquote><p>Reply</p><p>Quote</p><p>Report post</p><p>Joined 2021 · 340 posts</p>",
        title="Is this pharmacy legit? | HealthTalk Forum",
    )
    result = assess(checker, {"https://forum.healthtalk.example/t/123": forum})
    assert "seller_red_flag" not in signals(result)
    assert result.verdict == "not_a_pharmacy"
