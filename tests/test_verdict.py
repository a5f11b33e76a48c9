"""The verdict policy, on hand-made findings and site types."""

import pytest

from rxcheck.engine.schema import Overrides
from rxcheck.result import Evidence, Finding, SiteType, SiteTypeEvidence
from rxcheck.verdict import BANDS, judge, operator_override


def finding(rule: str, kind: str = "red_flag", severity: str = "medium", weight: float = 10, category: str = "content",
            tags: tuple[str, ...] = ()):  # fmt: skip
    return Finding(rule=rule, name=f"Rule {rule}", category=category, kind=kind, severity=severity, weight=weight,
                   message="m.", evidence=[], tags=list(tags))  # fmt: skip


def site_type(kind: str, seller: float = 0.0, other: float = 0.0) -> SiteType:
    item = SiteTypeEvidence(signal="refers_out", side="other", weight=other, describe="it sends readers to other shops",
                            url="https://x.example/", snippet="link")  # fmt: skip
    evidence = [item] if other else []
    return SiteType(type=kind, seller_score=seller, other_score=other, seller_evidence=seller >= 1, evidence=evidence)


PHARMACY = site_type("pharmacy", seller=4)
IDENTITY = [
    finding("licence", "trust_signal", "info", 25, "licensing", tags=("verifiable-identity",)),
    finding("address", "trust_signal", "info", 10, "location", tags=("physical-address",)),
]


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        (IDENTITY, "legitimate"),
        ([IDENTITY[0]], "suspicious"),  # no address: identity cannot be checked
        ([finding("licence", "trust_signal", "info", 25, "licensing"), IDENTITY[1]], "suspicious"),  # untagged
        (IDENTITY + [finding("a", severity="critical", weight=50)], "rogue"),
        (IDENTITY + [finding("a", severity="high", category="pricing"),
                     finding("b", severity="high", category="pricing")], "suspicious"),  # one problem, seen twice
        (IDENTITY + [finding("a", severity="high", category="pricing"),
                     finding("b", severity="high", category="payment")], "rogue"),
        (IDENTITY + [finding("a", weight=20), finding("b", weight=20)], "suspicious"),
        (IDENTITY + [finding("a", weight=2, severity="info")], "legitimate"),
    ],
)  # fmt: skip
def test_classes_of_a_pharmacy(findings, expected):
    judgement = judge(findings, PHARMACY)
    assert judgement.verdict == expected
    low, high = BANDS[expected]
    assert low <= judgement.score <= high
    assert judgement.reason.startswith(expected.replace("_", " ") + ":")


def test_the_reason_names_the_clause_that_decided():
    assert judge([finding("a", severity="critical", weight=50)], PHARMACY).reason == "rogue: rule a"
    assert "physical address" in judge([IDENTITY[0]], PHARMACY).reason
    assert "verifiable identity" in judge(IDENTITY, PHARMACY).reason


def test_an_information_site_is_not_a_pharmacy_and_keeps_no_shop_findings():
    findings = [finding("a", severity="critical", weight=50), IDENTITY[1]]
    judgement = judge(findings, site_type("information", seller=1.5, other=2))
    assert (judgement.verdict, judgement.score) == ("not_a_pharmacy", 0)
    assert judgement.findings == []
    assert (
        judgement.reason
        == "not a pharmacy: it sends readers to other shops, and it has no order path of its own for medicines"
    )


def test_a_trust_signal_contradicted_by_a_serious_red_flag_earns_nothing():
    checked = finding("checked", "trust_signal", "info", 10, "prescription")
    judgement = judge(IDENTITY + [checked, finding("no-rx", severity="critical", weight=50, category="prescription")],
                      PHARMACY)  # fmt: skip
    assert judgement.verdict == "rogue"
    assert "checked" not in {f.rule for f in judgement.findings}
    assert {"licence", "address", "no-rx"} <= {f.rule for f in judgement.findings}


def test_a_site_with_no_seller_evidence_at_all_is_not_a_pharmacy():
    judgement = judge([finding("a", severity="high")], site_type("unknown"))
    assert judgement.verdict == "not_a_pharmacy"
    assert "no order path" in judgement.reason


@pytest.mark.parametrize("findings", [[], IDENTITY, IDENTITY + [finding("a", severity="critical", weight=50)]])
def test_weak_seller_evidence_is_never_called_safe_nor_condemned_on_it_alone(findings):
    judgement = judge(findings, site_type("unknown", seller=1.5))
    assert judgement.verdict == "suspicious"
    assert "too little to tell" in judgement.reason


def test_operator_overrides_match_the_domain_and_its_www_host():
    overrides = Overrides.model_validate(
        {"deny": [{"domain": "cheap-meds.example", "verdict": "rogue", "reason": "On the NABP list"}]}
    )
    found = operator_override(overrides, "https://www.cheap-meds.example/shop")
    assert found is not None and found.score == 100
    assert found.finding("https://www.cheap-meds.example/").evidence == [
        Evidence(url="https://www.cheap-meds.example/", snippet="On the NABP list", locator="overrides.yaml")
    ]
    assert found.reason == "rogue: fixed by the operator of this checker (On the NABP list)"
    assert operator_override(overrides, "https://other.example/") is None
