import pytest

from rxcheck.engine.loader import load_pack
from rxcheck.engine.text import PageText, compile_any, text_program
from rxcheck.fetch import Exchange, FetchResult
from rxcheck.snapshot import Page

LANGUAGE = load_pack().language
NO_RX = text_program(
    ("without a prescription", "no prescription needed", "ohne Rezept", "sans ordonnance", "zonder recept"), ()
)


def page(html: str, title: str = "Shop") -> Page:
    body = f"<html><head><title>{title}</title></head><body>{html}</body></html>".encode()
    result = FetchResult(
        url="https://shop.example.com/",
        exchanges=(
            Exchange(url="https://shop.example.com/", status=200, headers=(("content-type", "text/html"),), body=body),
        ),
    )
    return Page.from_fetch(result, "home")


def statuses(html: str, title: str = "Shop") -> list[str]:
    return [hit.status for hit in PageText(page(html, title)).find(NO_RX, LANGUAGE)]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Buy Viagra online without a prescription.</p>", "asserted"),
        ("<p>No prescription needed – fast delivery!</p>", "asserted"),
        ("<p>We never dispense without a prescription.</p>", "negated"),
        ("<p>We do not sell Viagra without a prescription.</p>", "negated"),
        ("<p>We can't supply medicines without a prescription.</p>", "negated"),
        ("<p>Wir verkaufen keine Medikamente ohne Rezept.</p>", "negated"),
        ("<p>Nous ne vendons jamais sans ordonnance.</p>", "negated"),
        ("<p>Wij leveren nooit zonder recept.</p>", "negated"),
        ("<p>Can I buy Viagra without a prescription?</p>", "question"),
        ("<p>Ads promised “no prescription needed” and cheap pens.</p>", "quoted"),
        ("<p>Beware of websites that sell medicines without a prescription.</p>", "warning"),
        ("<p>Fake pharmacies offer pills without a prescription.</p>", "warning"),
    ],
)
def test_each_statement_is_classified(html, expected):
    assert statuses(html) == [expected]


def test_a_warning_heading_scopes_the_list_under_it():
    html = "<h2>How to spot a fake online pharmacy</h2><ul><li>It sells medicines without a prescription.</li></ul>"
    assert statuses(html) == ["warning"]


def test_the_next_heading_ends_the_warning_scope():
    html = (
        "<h2>How to spot a fake online pharmacy</h2><p>They sell pills.</p>"
        "<h2>Our offers</h2><p>Order Cialis without a prescription today.</p>"
    )
    assert statuses(html) == ["asserted"]


def test_a_quotation_over_several_sentences_is_quoted_to_its_end():
    html = '<p>One advert read: "Sildenafil 100 mg from 0.50 a pill. No prescription needed. Order today."</p>'
    assert statuses(html) == ["quoted"]


def test_a_stray_quote_mark_far_before_does_not_quote_the_rest_of_the_block():
    html = (
        '<p>Our 12" display stands show every product. '
        + "We list what we stock and what it costs. " * 12
        + 'Buy Viagra online without a prescription. Ask us anything, "we answer within a day".</p>'
    )
    assert statuses(html) == ["asserted"]


def test_negation_does_not_reach_across_a_clause_break():
    assert statuses("<p>We are not a chain, but we sell without a prescription.</p>") == ["asserted"]


def test_hidden_text_is_not_seen():
    assert statuses('<p style="display:none">without a prescription</p><p>Hello</p>') == []


def test_linear_time_regex_survives_pathological_pattern():
    program = compile_any((), ("(a+)+$",))
    assert program.search("a" * 50_000 + "b") is None
