"""The verdict policy: how findings become a class and a risk score. This module is the whole policy.

1. An operator's override for the domain (`overrides.yaml`: allow/deny) decides first.
2. A site with no order path for medicines of its own (`sells_medicines`) is `not_a_pharmacy`, whatever it says:
   health articles, regulators, clinics, price-comparison sites. Its red flags are dropped from the result: on such
   pages they are words about other sites, not facts about a shop.
3. A site that sells is `rogue` when it shows a critical red flag, high red flags in two or more categories (two
   views of one problem count once), or red-flag weight of at least `rogue_weight`.
4. Otherwise it is `suspicious` when it shows a high red flag, red-flag weight of at least `suspicious_weight`,
   or when its identity cannot be checked: `legitimate` needs a verifiable-identity trust signal (a licence or
   registration number of the right format, or a seal or logo that links to the issuer's register for this
   domain: categories `licensing` or `seals`) and a physical address (category `location`).
5. The risk score grows with the red-flag weight and shrinks with the trust-signal weight, then is kept inside
   the band of the class (rogue 70-100, suspicious 35-69, legitimate 0-34), so score and class never contradict
   each other. A site that sells nothing scores 0; an unreachable site scores 50: unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from checker.facts import Facts
from checker.result import Finding

BANDS = {"rogue": (70, 100), "suspicious": (35, 69), "legitimate": (0, 34), "not_a_pharmacy": (0, 0)}
UNREACHABLE_SCORE = 50


@dataclass(frozen=True)
class Policy:
    rogue_weight: float = 100.0
    suspicious_weight: float = 40.0
    high_flags_for_rogue: int = 2
    trust_discount: float = 0.5  # how much one point of trust offsets one point of risk
    scale: float = 60.0  # red-flag weight at which the raw score reaches about 63
    identity_categories: tuple[str, ...] = ("licensing", "seals")
    address_categories: tuple[str, ...] = ("location",)


DEFAULT_POLICY = Policy()


DOSAGE_UNITS = {"pill", "tablet", "capsule", "pen", "vial", "injection", "ml"}


def sells_medicines(facts: Facts) -> bool:
    """An order path of the site's own (cart, checkout, order form) next to medicines: offered by name, or priced
    as a medicine is (a strength or a dosage form: "400 mg", "20 tablets"), which covers brands not in the list;
    or an order path for prescriptions themselves ("Transfer a prescription", "E-Rezept einlösen", "Start
    consultation")."""
    medicine_prices = [
        price
        for price in facts.of("price")
        if price.get("status") in (None, "asserted")
        and (price.get("medicine") or price.get("strength") or price.get("unit") in DOSAGE_UNITS)
    ]
    prescription_orders = [c for c in facts.of("commerce") if c.get("prescription_order")]
    return bool(facts.of("commerce")) and bool(facts.of("offer") or medicine_prices or prescription_orders)


def judge(findings: list[Finding], facts: Facts, policy: Policy = DEFAULT_POLICY) -> tuple[str, int, list[Finding]]:
    """The verdict, the risk score, and the findings to report with them."""
    verdict, score = classify(findings, facts, policy)
    if verdict == "not_a_pharmacy":
        findings = [f for f in findings if f.kind == "trust_signal"]
    return verdict, score, findings


def classify(findings: list[Finding], facts: Facts, policy: Policy = DEFAULT_POLICY) -> tuple[str, int]:
    """The verdict class and the 0-100 risk score for a site's findings."""
    red = [f for f in findings if f.kind == "red_flag"]
    trust = [f for f in findings if f.kind == "trust_signal"]
    red_weight = sum(f.weight for f in red)
    trust_weight = sum(f.weight for f in trust)
    raw = max(0.0, red_weight - policy.trust_discount * trust_weight)
    score = round(100 * (1 - math.exp(-raw / policy.scale)))

    if not sells_medicines(facts):
        verdict = "not_a_pharmacy"
    else:
        critical = [f for f in red if f.severity == "critical"]
        high = [f for f in red if f.severity == "high"]
        trusted = {f.category for f in trust}
        identity = bool(trusted & set(policy.identity_categories)) and bool(trusted & set(policy.address_categories))
        high_categories = {f.category for f in high}
        if critical or len(high_categories) >= policy.high_flags_for_rogue or red_weight >= policy.rogue_weight:
            verdict = "rogue"
        elif high or red_weight >= policy.suspicious_weight or not identity:
            verdict = "suspicious"
        else:
            verdict = "legitimate"
    low, high_bound = BANDS[verdict]
    return verdict, min(max(score, low), high_bound)
