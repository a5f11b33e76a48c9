"""The lexicon: named term lists from every language, compiled once per pack, matched as whole words."""

from __future__ import annotations

import pytest

from rxcheck import lexicon as lexicon_module
from rxcheck.engine.loader import load_pack
from rxcheck.errors import RuleError
from rxcheck.lexicon import Lexicon, Term, TermMatcher, UnknownList, first_of, load_lexicon, one_pass


def matcher(*terms: str | dict, language: str = "en") -> TermMatcher:
    return TermMatcher("test", [Term(t["re"], language, True) if isinstance(t, dict) else Term(t, language)
                                for t in terms])  # fmt: skip


def spans(m: TermMatcher, text: str) -> list[str]:
    return [text[h.start : h.end] for h in m.finditer(text)]


def test_phrases_match_whole_words_any_case_accent_and_gap():
    m = matcher("in den Warenkorb", "cart", "buy now")
    text = "IN DEN WARENKÖRB, Cart cart-x buy-now cartoon scart"
    assert spans(m, text) == ["IN DEN WARENKÖRB", "Cart", "cart", "buy-now"]


def test_offsets_point_into_the_original_text_after_non_ascii():
    m = matcher("cart")
    text = "Café ß 漢字 cart"
    (hit,) = m.finditer(text)
    assert text[hit.start : hit.end] == "cart"
    assert (hit.term, hit.language) == ("cart", "en")


def test_longest_term_wins_and_shorter_one_still_found_when_longer_fails():
    m = matcher("buy", "buy now")
    assert [h.term for h in m.finditer("buy now")] == ["buy now"]
    assert [h.term for h in m.finditer("buy nowhere")] == ["buy"]


def test_open_ended_words_and_regular_expressions():
    m = matcher("fake pharmac*", {"re": r"\d+ ?mg"}, "don't")
    text = "Fake Pharmacies sell 50 mg, don’t they"
    assert [(text[h.start : h.end], h.term) for h in m.finditer(text)] == [
        ("Fake Pharmacies", "fake pharmac*"), ("50 mg", r"\d+ ?mg"), ("don’t", "don't"),
    ]  # fmt: skip
    assert not m.search("fake pharma")


def test_one_list_spans_languages_and_names_the_language_of_each_hit(tmp_path):
    (tmp_path / "reference" / "lexicon").mkdir(parents=True)
    (tmp_path / "reference" / "lexicon" / "en.yaml").write_text("cart: [cart, basket]\n")
    (tmp_path / "reference" / "lexicon" / "de.yaml").write_text("cart: [Warenkorb]\nnew_list: [Kasse]\n")
    lexicon = load_lexicon([tmp_path])
    assert lexicon.names() == ["cart", "new_list"]
    assert [(h.term, h.language) for h in lexicon.matcher("cart").finditer("Basket / Warenkorb")] == [
        ("basket", "en"), ("Warenkorb", "de"),
    ]  # fmt: skip


def test_a_local_pack_extends_the_bundled_lists(tmp_path):
    bundled = load_pack()
    assert bundled.lexicon.has("warning")
    (tmp_path / "reference" / "lexicon").mkdir(parents=True)
    (tmp_path / "reference" / "lexicon" / "en.yaml").write_text("warning: [sketchy sellers]\nmy_list: [zebra]\n")
    pack = load_pack([tmp_path])
    warning = pack.lexicon.matcher("warning")
    assert warning.search("Avoid sketchy sellers")
    assert warning.search("Beware of fake pharmacies")  # bundled terms stay
    assert pack.lexicon.matcher("my_list").search("a zebra")
    assert pack.version != bundled.version


def test_unknown_list_is_a_clear_error():
    with pytest.raises(UnknownList, match="no lexicon list 'no_such_list'"):
        Lexicon({}).matcher("no_such_list")


YAML_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n" for previous, name in zip("abcdef", "bcdefg", strict=True)
)  # 10 to the 7th values once its aliases are expanded


@pytest.mark.parametrize(
    "content, message",
    [("cart: [{re: '(unclosed'}]\n", "invalid regular expression"), ("cart: [{regex: x}]\n", "a term is a phrase"),
     ("cart: buy\n", "expected a list"), ("- a\n", "maps list names"), ("cart: [a\n", "invalid YAML"),
     ("cart: !!python/object:os.system [x]\n", "tags that build objects are refused"),
     (YAML_BOMB, "YAML bomb")],
)  # fmt: skip
def test_broken_lexicon_files_fail_at_load_with_the_file(tmp_path, content, message):
    (tmp_path / "reference" / "lexicon").mkdir(parents=True)
    (tmp_path / "reference" / "lexicon" / "en.yaml").write_text(content)
    with pytest.raises(RuleError, match=message) as info:
        load_lexicon([tmp_path])
    assert "en" in str(info.value)


RULE = """id: {id}
name: Zebra sold
category: content
kind: red_flag
severity: low
weight: 1
status: test
description: test rule
message: test rule
references: [test]
checks:
  zebra:
    text:
      terms: [{list}]
condition: zebra
tests:
  match:
    - html: "<p>We sell Zebras and ZÈBRE.</p>"
  no_match:
    - html: "<p>We never sell zebras.</p>"
"""


def _local_pack(tmp_path, list_name: str = "animals"):
    (tmp_path / "reference" / "lexicon").mkdir(parents=True)
    (tmp_path / "reference" / "lexicon" / "en.yaml").write_text("animals: [zebra*]\n")
    (tmp_path / "reference" / "lexicon" / "fr.yaml").write_text("animals: [zèbre]\n")
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "content-zebra.yaml").write_text(RULE.format(id="content-zebra", list=list_name))
    return tmp_path


def test_a_rule_names_a_lexicon_list_and_its_tests_pass(tmp_path):
    from rxcheck.engine.ruletests import run_rule_tests

    outcomes = run_rule_tests([_local_pack(tmp_path)])
    assert [(o.expected, o.passed) for o in outcomes] == [("match", True), ("no_match", True)]


def test_a_rule_naming_an_unknown_list_fails_at_load_and_validate(tmp_path):
    from rxcheck.engine.loader import validate_dir

    _local_pack(tmp_path, "no_such_list")
    with pytest.raises(RuleError, match=r"content-zebra.yaml: checks.zebra: no lexicon list 'no_such_list'"):
        load_pack([tmp_path])
    count, problems = validate_dir(tmp_path)
    assert count == 1 and any("no lexicon list 'no_such_list'" in p for p in problems)


def test_where_a_term_sits_opening_closing_whole():
    m = matcher("each", "per unit", "from")
    assert m.opening("  each, VAT included").term == "each"
    assert m.opening("VAT included, each") is None
    assert m.closing("prices from: ").term == "from"
    assert m.closing("from the shop") is None
    assert m.closing("from  ", lambda tail: not tail.strip()) is not None
    assert m.whole("Per-Unit") and not m.whole("per unit price")


ONE_PASS_TEXTS = [
    "In den Warenkorb – Kaufen Sie jetzt, Versand mit DHL. Zahlung per Überweisung oder Bitcoin.",
    "No prescription needed! We accept Visa, Mastercard and PayPal; customs fees are not charged.",
    "Ajouter au panier · Paiement par virement bancaire · Livraison discrète sans ordonnance",
    "Beware of sites that sell without a prescription? « Ozempic sin receta, 60 €. Envío discreto »",
    "",
    "a" * 500,
]


def test_one_pass_finds_exactly_what_each_list_finds_alone():
    lexicon = load_pack().lexicon
    alone = {
        (name, text): ([*lexicon.matcher(name).finditer(text)], lexicon.matcher(name).search(text))
        for name in lexicon.names()
        for text in ONE_PASS_TEXTS
    }
    assert any(hits for hits, _ in alone.values())
    with one_pass():
        for _ in range(2):  # the second time from the scans kept
            for (name, text), (hits, found) in alone.items():
                assert [*lexicon.matcher(name).finditer(text)] == hits, name
                assert lexicon.matcher(name).search(text) == found, name
                lists = [("x", name), ("y", "negation")]
                assert lexicon.first_hits(lists, text) == first_of(
                    [*(("x", h) for h in hits), *(("y", h) for h in lexicon.matcher("negation").finditer(text))],
                    ["x", "y"],
                )
        assert lexicon.scan(ONE_PASS_TEXTS[0]) is lexicon.scan(ONE_PASS_TEXTS[0])
    assert lexicon.scan(ONE_PASS_TEXTS[0]) is None  # nothing kept once the check is over


def test_past_its_budget_one_pass_matches_each_text_directly(monkeypatch):
    monkeypatch.setattr(lexicon_module, "SCAN_BUDGET", len(ONE_PASS_TEXTS[0]))
    lexicon = load_pack().lexicon
    alone = [[*lexicon.matcher("negation").finditer(text)] for text in ONE_PASS_TEXTS]
    with one_pass():
        assert lexicon.scan(ONE_PASS_TEXTS[0]) is not None
        assert lexicon.scan(ONE_PASS_TEXTS[1]) is None  # nothing left for it
        assert [[*lexicon.matcher("negation").finditer(text)] for text in ONE_PASS_TEXTS] == alone


EDGE_TERMS = {
    "words": ["buy viagra", "l'ordonnance", "e-mail", "24/7"],
    "marks": [".com", "£ off", "(rx)"],
    "open": ["pharmac*", {"re": r"\d+ ?mg"}],
}
EDGE_TEXTS = [
    "Buy  Viagra!", "buy-viagra", "buyviagra", "buy viagras", "rebuy viagra", "buy\x00viagra", "buy\tviagra",
    "sans l’ordonnance", "l'ordonnances", "E - Mail us", "email", "open 24/7.", "124/7", "24/75",
    "shop.com", "shop .com", ".com", "x£ off", "£ off", "(rx) only", "a(rx)", "pharmacy", "apharmacy", "50mg", "x50 mg",
    "", " ", "\x00", "ß 漢字 buy viagra 漢字",
]  # fmt: skip


def test_one_pass_agrees_with_each_list_on_edges_of_words_marks_and_gaps():
    lexicon = Lexicon({name: [Term(t["re"], "en", True) if isinstance(t, dict) else Term(t, "en") for t in terms]
                       for name, terms in EDGE_TERMS.items()})  # fmt: skip
    alone = {(name, text): lexicon.matcher(name).search(text) for name in EDGE_TERMS for text in EDGE_TEXTS}
    assert 0 < sum(alone.values()) < len(alone)
    with one_pass():
        assert {key: lexicon.matcher(key[0]).search(key[1]) for key in alone} == alone
