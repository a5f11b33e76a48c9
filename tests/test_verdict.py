"""The verdict policy, on hand-made findings and facts."""

import pytest

from checker.facts import Fact, Facts
from checker.result import Finding
from checker.verdict import BANDS, judge, sells_medicines

SELLS = [Fact("commerce", "cart_button", {"signal": "cart_button"}), Fact("offer", "sildenafil", {})]


def finding(rule: str, kind: str = "red_flag", severity: str = "medium", weight: float = 10, category: str = "content"):
    return Finding(rule=rule, name=rule, category=category, kind=kind, severity=severity, weight=weight,
                   message="m.", evidence=[])  # fmt: skip


IDENTITY = [
    finding("licence", "trust_signal", "info", 25, "licensing"),
    finding("address", "trust_signal", "info", 10, "location"),
]


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        (IDENTITY, "legitimate"),
        ([IDENTITY[0]], "suspicious"),  # no address: identity cannot be checked
        (IDENTITY + [finding("a", severity="critical", weight=50)], "rogue"),
        (IDENTITY + [finding("a", severity="high", category="pricing"),
                     finding("b", severity="high", category="pricing")], "suspicious"),  # one problem, seen twice
        (IDENTITY + [finding("a", severity="high", category="pricing"),
                     finding("b", severity="high", category="payment")], "rogue"),
        (IDENTITY + [finding("a", weight=20), finding("b", weight=20)], "suspicious"),
        (IDENTITY + [finding("a", weight=2, severity="info")], "legitimate"),
    ],
)  # fmt: skip
def test_classes(findings, expected):
    verdict, score, _ = judge(findings, Facts(SELLS))
    assert verdict == expected
    low, high = BANDS[verdict]
    assert low <= score <= high


def test_a_site_that_sells_nothing_is_not_a_pharmacy_and_keeps_no_red_flags():
    findings = [finding("a", severity="critical", weight=50), IDENTITY[1]]
    verdict, score, kept = judge(findings, Facts([Fact("price", 12.9, {"status": "asserted"})]))
    assert (verdict, score) == ("not_a_pharmacy", 0)
    assert [f.rule for f in kept] == ["address"]


@pytest.mark.parametrize(
    ("facts", "sells"),
    [
        ([Fact("commerce", "cart_button", {})], False),  # a cart, but nothing that is a medicine
        ([Fact("commerce", "cart_button", {}), Fact("price", 12.9, {"status": "asserted"})], False),  # a booklet
        ([Fact("commerce", "cart_button", {}), Fact("price", 4.5, {"status": "asserted", "strength": "400mg"})], True),
        ([Fact("commerce", "order_link", {"text": "Transfer a prescription", "prescription_order": True})], True),
        ([Fact("commerce", "cart_button", {}), Fact("price", 49, {"status": "quoted", "medicine": "x"})], False),
    ],
)  # fmt: skip
def test_what_counts_as_selling_medicines(facts, sells):
    assert sells_medicines(Facts(facts)) is sells
