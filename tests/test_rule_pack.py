"""Every rule's own test cases (the `tests:` block of each rule file), one pytest case per rule."""

from collections import defaultdict

import pytest

from rxcheck.engine.loader import load_pack
from rxcheck.engine.ruletests import run_rule_tests

OUTCOMES = defaultdict(list)
for outcome in run_rule_tests():
    OUTCOMES[outcome.rule].append(outcome)


@pytest.mark.parametrize("rule_id", sorted(OUTCOMES))
def test_rule_behaves_as_its_tests_say(rule_id):
    failures = [o.describe() for o in OUTCOMES[rule_id] if not o.passed]
    assert not failures, "\n".join(failures)


def test_every_rule_carries_match_and_no_match_cases():
    pack = load_pack()
    missing = [rule.id for rule in pack.rules if not (rule.tests.match and rule.tests.no_match)]
    assert missing == []


def test_every_rule_cites_an_authority_and_speaks_to_shoppers_in_one_sentence():
    for rule in load_pack().rules:
        assert rule.references, rule.id
        message = rule.message.strip()
        assert message.endswith(".") and message.count(". ") == 0, f"{rule.id}: {message!r}"
