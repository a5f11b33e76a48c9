"""One failing fact extractor or rule is recorded in the result, and the check goes on."""

from __future__ import annotations

from rxcheck.engine.ruletests import site_from_test
from rxcheck.engine.schema import RuleTest
from rxcheck.facts import extract
from rxcheck.pipeline import Checker

ROGUE = """<html><head><title>Cheap pills</title></head><body>
<h1>Buy Viagra online without prescription</h1>
<p>Viagra 100mg – 90 pills $0.45 per pill. No prescription needed, no doctor visit.</p>
<p>We accept Bitcoin and Western Union only.</p>
<form action="/cart/add" method="post"><button>Add to cart</button></form></body></html>"""


def site(checker: Checker):
    return site_from_test(RuleTest(url="https://pills.example.com/", html=ROGUE), checker.pack.roles)


def test_a_failing_extractor_is_noted_and_the_check_goes_on(monkeypatch):
    checker = Checker()

    def broken(site, pack):
        raise RuntimeError("extractor exploded")

    monkeypatch.setattr(extract, "EXTRACTORS", [broken if e is extract.payment.extract else e
                                                 for e in extract.EXTRACTORS])  # fmt: skip
    result = checker.assess(site(checker))
    assert [(n.stage, n.message) for n in result.notes] == [("facts", "RuntimeError: extractor exploded")]
    assert result.verdict == "rogue"  # the other extractors and every rule still ran
    assert "rx-no-prescription-needed" in {f.rule for f in result.findings}


def test_a_failing_rule_is_noted_and_the_others_still_judge(monkeypatch):
    checker = Checker()
    victim = checker.pack.get("pay-no-card-payment")
    import rxcheck.engine.evaluate as evaluate

    real = evaluate.evaluate_rule

    def flaky(rule, ctx):
        if rule is victim:
            raise ValueError("rule exploded")
        return real(rule, ctx)

    monkeypatch.setattr(evaluate, "evaluate_rule", flaky)
    result = checker.assess(site(checker))
    assert [(n.stage, n.name) for n in result.notes] == [("rules", "pay-no-card-payment")]
    rules = {f.rule for f in result.findings}
    assert "pay-no-card-payment" not in rules and "rx-no-prescription-needed" in rules
