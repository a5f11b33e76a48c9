import pytest

from rxcheck.engine.condition import parse_condition


@pytest.mark.parametrize(
    ("condition", "true_names", "expected"),
    [
        ("a and b", {"a", "b"}, True),
        ("a and b", {"a"}, False),
        ("a or b", {"b"}, True),
        ("a and not b", {"a"}, True),
        ("a and not b", {"a", "b"}, False),
        ("a or b and c", {"a"}, True),  # and binds tighter
        ("(a or b) and c", {"a"}, False),
        ("not (a or b)", set(), True),
        ("not not a", {"a"}, True),
    ],
)
def test_evaluates_like_boolean_logic(condition, true_names, expected):
    assert parse_condition(condition).evaluate(lambda name: name in true_names) is expected


def test_positive_names_exclude_negated_checks():
    tree = parse_condition("sells and not (address or phone) and price")
    assert tree.names() == {"sells", "address", "phone", "price"}
    assert tree.positive_names() == {"sells", "price"}


@pytest.mark.parametrize("bad", ["", "a and", "(a or b", "a b", "a & b", "and a", "a or )"])
def test_malformed_conditions_are_refused(bad):
    with pytest.raises(ValueError):
        parse_condition(bad)
