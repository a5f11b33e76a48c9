"""The verdict policy: how the site type and the findings become a class, a risk score and the reason. This module is
the whole policy.

1. An operator's override for the domain (`overrides.yaml`: allow/deny) decides first, before any fetch.
2. What kind of site it is comes from `checker.sitetype`, weighing all its evidence. A site is `not_a_pharmacy`
   only with positive evidence that it is another kind of site (an article, a regulator, a forum, a clinic that does
   not supply, a comparison site that links out), or with no seller evidence at all. A red flag that the site states
   about itself in a seller's voice makes it a seller, so it is never `not_a_pharmacy`. A non-pharmacy's findings are
   dropped from the result: on such pages red flags are words about other sites, and a shop's trust signals do not
   apply; the site type's evidence says what the site is instead.
   A seller's trust signal in an area where it shows a serious red flag earns nothing ("we require a valid
   prescription" beside "no prescription needed") and is dropped.
3. A seller is `rogue` when it shows a critical red flag, high red flags in two or more categories (two views of one
   problem count once), or red-flag weight of at least `rogue_weight`.
4. Otherwise it is `suspicious` when it shows a high red flag, red-flag weight of at least `suspicious_weight`, or
   when its identity cannot be checked: `legitimate` needs a trust signal that rules tag as verifiable identity (a
   registration number of the right format, a seal or logo linking to the issuer's register entry for this domain, a
   `.pharmacy` domain) and one tagged as a physical address.
5. The risk score grows with the red-flag weight and shrinks with the trust-signal weight, then is kept inside the
   band of the class (rogue 70-100, suspicious 35-69, legitimate 0-34), so score and class never contradict each
   other. A site that sells nothing scores 0; an unreachable site scores 50: unknown.

Every verdict carries `verdict_reason`: the clause above that decided, in one sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from rxcheck.engine.schema import DomainOverride, Overrides
from rxcheck.facts.domain import registrable_domain
from rxcheck.result import Evidence, Finding, SiteType

BANDS = {"rogue": (70, 100), "suspicious": (35, 69), "legitimate": (0, 34), "not_a_pharmacy": (0, 0)}
UNREACHABLE_SCORE = 50
SERIOUS = ("high", "critical")
OVERRIDE_SCORES = {"rogue": 100, "suspicious": 50}


@dataclass(frozen=True)
class Policy:
    rogue_weight: float = 100.0
    suspicious_weight: float = 40.0
    high_flags_for_rogue: int = 2
    trust_discount: float = 0.5  # how much one point of trust offsets one point of risk
    scale: float = 60.0  # red-flag weight at which the raw score reaches about 63
    identity_tag: str = "verifiable-identity"
    address_tag: str = "physical-address"


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Judgement:
    verdict: str
    score: int
    reason: str
    findings: list[Finding]


def sells(site_type: SiteType) -> bool:
    """Whether the site is judged as a seller of medicines: a pharmacy, or of unknown type with seller evidence."""
    return site_type.type == "pharmacy" or (site_type.type == "unknown" and site_type.seller_evidence)


def judge(findings: list[Finding], site_type: SiteType, policy: Policy = DEFAULT_POLICY) -> Judgement:
    """The verdict, the risk score, the reason, and the findings to report with them."""
    red = [f for f in findings if f.kind == "red_flag"]
    if not sells(site_type):
        return Judgement("not_a_pharmacy", 0, _not_a_pharmacy_reason(site_type), [])
    serious = {f.category for f in red if f.severity in SERIOUS}
    trust = [f for f in findings if f.kind == "trust_signal" and f.category not in serious]
    red_weight = sum(f.weight for f in red)
    raw = max(0.0, red_weight - policy.trust_discount * sum(f.weight for f in trust))
    score = round(100 * (1 - math.exp(-raw / policy.scale)))
    verdict, reason = _seller_class(red, trust, red_weight, policy)
    if site_type.type == "unknown":  # weak evidence of selling: never called safe, never condemned on it alone
        verdict, reason = (
            "suspicious",
            (
                "suspicious: it shows some signs of selling medicines but too little to tell what kind of site it is"
                + (f"; {reason.split(': ', 1)[1]}" if verdict != "legitimate" else "")
            ),
        )
    low, high = BANDS[verdict]
    return Judgement(verdict, min(max(score, low), high), reason, red + trust)


def _seller_class(red: list[Finding], trust: list[Finding], red_weight: float, policy: Policy) -> tuple[str, str]:
    critical = [f for f in red if f.severity == "critical"]
    high = [f for f in red if f.severity == "high"]
    high_categories = sorted({f.category for f in high})
    if critical:
        return "rogue", f"rogue: {_lower(critical[0].name)}"
    if len(high_categories) >= policy.high_flags_for_rogue:
        names = "; ".join(_lower(next(f.name for f in high if f.category == c)) for c in high_categories[:3])
        return "rogue", f"rogue: serious red flags in {len(high_categories)} areas ({names})"
    if red_weight >= policy.rogue_weight:
        return (
            "rogue",
            f"rogue: its red flags add up to {red_weight:g}, at or above the rogue line of {policy.rogue_weight:g}",
        )
    if high:
        return "suspicious", f"suspicious: {_lower(high[0].name)}"
    if red_weight >= policy.suspicious_weight:
        return "suspicious", (
            f"suspicious: its red flags add up to {red_weight:g}, at or above the suspicious line of "
            f"{policy.suspicious_weight:g}"
        )
    identity = [f for f in trust if policy.identity_tag in f.tags]
    address = [f for f in trust if policy.address_tag in f.tags]
    if not identity and not address:
        return (
            "suspicious",
            "suspicious: it sells medicines but shows neither a verifiable registration nor a physical address",
        )
    if not identity:
        return (
            "suspicious",
            "suspicious: it sells medicines but its identity cannot be checked "
            "(no verifiable registration, seal or .pharmacy domain)",
        )
    if not address:
        return "suspicious", "suspicious: it sells medicines but shows no physical address"
    return "legitimate", (
        f"legitimate: a verifiable identity ({_lower(identity[0].name)}) and a physical address, "
        "with no serious red flag"
    )


def _not_a_pharmacy_reason(site_type: SiteType) -> str:
    other = [e for e in site_type.evidence if e.side == "other"]
    if site_type.type == "information" and other:
        return f"not a pharmacy: {other[0].describe}, and it has no order path of its own for medicines"
    return (
        "not a pharmacy: no order path, no prices of medicines and no seller's statements were found "
        "on the pages checked"
    )


def _lower(name: str) -> str:
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


@dataclass(frozen=True)
class Override:
    entry: DomainOverride
    kind: str  # trust_signal (allow) | red_flag (deny)

    @property
    def score(self) -> int:
        return OVERRIDE_SCORES.get(self.entry.verdict, 0)

    @property
    def reason(self) -> str:
        return f"{self.entry.verdict.replace('_', ' ')}: fixed by the operator of this checker ({self.entry.reason})"

    def finding(self, start_url: str) -> Finding:
        return Finding(
            rule="operator-override", name="Operator override", category="domain", kind=self.kind,
            severity="info" if self.kind == "trust_signal" else "critical", weight=0,
            message=f"The operator of this checker has marked this site {self.entry.verdict}: {self.entry.reason}",
            evidence=[Evidence(url=start_url, snippet=self.entry.reason, locator="overrides.yaml")],
        )  # fmt: skip


def operator_override(overrides: Overrides, start_url: str) -> Override | None:
    """The operator's fixed verdict for this domain (`overrides.yaml`), if there is one."""
    names = {registrable_domain(start_url), (urlsplit(start_url).hostname or "").removeprefix("www.")}
    entries = [(e, "trust_signal") for e in overrides.allow] + [(e, "red_flag") for e in overrides.deny]
    for entry, kind in entries:
        if entry.domain.lower().removeprefix("www.") in names:
            return Override(entry, kind)
    return None
