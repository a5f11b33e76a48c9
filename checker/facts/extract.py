"""Facts for a whole site: every extractor in turn, and the jurisdiction the site presents itself in.

Each extractor module documents the fact kinds and attributes it produces (its module docstring); rule writers
read those. Extractors see the parsed pages only (no re-parsing, no network) and are independent of each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rxcheck import regex
from rxcheck.facts import Fact, Facts, commerce, contact, domain, licences, medicines, payment, policies, prices, seals
from rxcheck.facts._common import RE2_OPTIONS
from rxcheck.lexicon import one_pass
from rxcheck.result import Note
from rxcheck.snapshot import Site

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

Extractor = Callable[[Site, "RulePack"], Iterable[Fact]]

EXTRACTORS: list[Extractor] = [
    domain.extract,
    medicines.extract,
    prices.extract,
    commerce.extract,
    licences.extract,
    contact.extract,
    payment.extract,
    seals.extract,
    policies.extract,
]


def extract_facts(site: Site, pack: RulePack) -> Facts:
    """Every extractor's facts. One that fails is left out and named in `facts.notes`; the others still run."""
    facts = Facts()
    with one_pass():
        for extractor in EXTRACTORS:
            try:
                facts.extend(list(extractor(site, pack)))
            except Exception as exc:  # a bug or a pathological page must not cost the whole check
                name = extractor.__module__.rsplit(".", 1)[-1]
                facts.notes.append(Note(stage="facts", name=name, message=_say(exc)))
    facts.extend(priced_offers(facts))
    return facts


def _say(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def priced_offers(facts: Facts) -> list[Fact]:
    """An `offer` for each medicine the site puts an asserted price on but that no page offered in so many words
    (a price table under a heading naming the medicine, a one-product site)."""
    offered = {fact.value for fact in facts.of("offer")}
    derived: dict[str, Fact] = {}
    for price in facts.of("price"):
        name = price.get("medicine")
        if name and name not in offered and name not in derived and price.get("status") == "asserted":
            attrs = {
                "medicine": name, "rx_class": price.get("rx_class"), "brand_only": price.get("brand_only"),
                "names": [price.get("name")], "via": "price", "generic_of_brand_only": False, "role": None,
            }  # fmt: skip
            medicine = next((m for m in facts.of("medicine") if m.value == name), None)
            if medicine is not None:
                attrs["high_risk"] = medicine.get("high_risk")
            derived[name] = Fact(kind="offer", value=name, attrs=attrs, evidence=price.evidence)
    return list(derived.values())


EU_COUNTRIES = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}  # fmt: skip
CURRENCY_JURISDICTION = {"GBP": "GB", "EUR": "EU", "USD": "US", "CAD": "CA"}
MIN_SCORE = 1.5
CUE_WEIGHTS = (("claims", 2), ("services", 1))  # see reference/jurisdiction_cues.yaml


def _cues(pack: RulePack) -> dict[str, regex.Pattern | None]:
    """One RE2 program per kind of cue in `jurisdiction_cues.yaml`, a named group per jurisdiction."""
    table = pack.reference.get("jurisdiction_cues") or {}
    programs: dict[str, regex.Pattern | None] = {}
    for kind in ("claims", "services", "domain_words"):
        groups = "|".join(f"(?P<{code}>{'|'.join(f'(?:{p})' for p in patterns)})"
                          for code, patterns in (table.get(kind) or {}).items())  # fmt: skip
        programs[kind] = regex.compile(groups, RE2_OPTIONS) if groups else None
    return programs


def jurisdiction_of(country: str | None) -> str | None:
    """GB, US, CA, EU (for member states) or "other" for an ISO country code; None for none."""
    if not country:
        return None
    country = country.upper()
    if country in ("GB", "UK"):
        return "GB"
    if country in ("US", "CA"):
        return country
    return "EU" if country in EU_COUNTRIES or country == "EU" else "other"


def guess_jurisdiction(site: Site, facts: Facts, pack: RulePack) -> str:
    """GB, EU, US, CA or "unknown": where the site presents itself as operating, from its own signals (country
    domain, addresses, currencies, phone prefixes, regulators named in licences and seals, words addressing one
    country's patients such as "Canadian pharmacy", "NHS", "FDA", page language). "unknown" when the signals are
    weak, tied, or point elsewhere (e.g. an Indian address)."""
    ranked = jurisdiction_scores(site, facts, pack).most_common()
    if not ranked:
        return "unknown"
    best, best_score = ranked[0]
    if best == "other" or best_score < MIN_SCORE or (len(ranked) > 1 and ranked[1][1] == best_score):
        return "unknown"
    return best


def jurisdiction_scores(site: Site, facts: Facts, pack: RulePack) -> Counter[str]:
    """The votes behind `guess_jurisdiction`: GB, EU, US, CA and "other" (any other country)."""
    score: Counter[str] = Counter()

    def vote(jurisdiction: str | None, weight: float) -> None:
        if jurisdiction:
            score[jurisdiction] += weight

    site_domain = facts.first("domain")
    if site_domain is not None:
        suffix = str(site_domain.get("suffix") or "").rsplit(".", 1)[-1]
        if suffix == "pharmacy":
            vote("US", 1)
        elif len(suffix) == 2 or suffix == "eu":
            vote(jurisdiction_of("GB" if suffix == "uk" else suffix), 2)
    for country in {f.get("country") for f in facts.of("address")}:
        vote(jurisdiction_of(country), 2)
    for country in {f.get("country") for f in facts.of("phone") if not f.get("fax")}:
        vote(jurisdiction_of(country), 1)
    for currency, assumed in {(f.get("currency"), f.get("currency_assumed")) for f in facts.of("price")}:
        vote(CURRENCY_JURISDICTION.get(currency, "other"), 0.5 if assumed else 1)
    for fact in facts.of("licence"):
        strong = fact.get("scheme") not in ("company_number", "vat", "unknown")
        vote(jurisdiction_of(fact.get("jurisdiction")), 2 if strong else 1)
    for fact in facts.of("seal"):
        where = jurisdiction_of(fact.get("register_country")) or fact.get("jurisdiction")
        if fact.get("issuer") != "imitation" and where != "INT":
            vote(where, 2 if fact.get("link_kind") == "register" else 0.5)
    cues = pack.compiled("jurisdiction_cues", _cues)
    texts = list(dict.fromkeys(block.text for page in site.html_pages() for block in page.blocks))
    for kind, weight in CUE_WEIGHTS:
        program = cues[kind]
        for jurisdiction in {m.lastgroup for text in texts for m in program.finditer(text)} if program else ():
            vote(jurisdiction, weight)
    if site_domain is not None and cues["domain_words"] is not None:
        for m in cues["domain_words"].finditer(str(site_domain.value)):
            vote(m.lastgroup, 1)
    votes = (pack.reference.get("jurisdiction_cues") or {}).get("page_languages") or {}
    for language in {page.doc.lang.split("-")[0] for page in site.html_pages() if page.doc and page.doc.lang}:
        jurisdiction, weight = (votes.get(language) or [None, 0])[:2]
        vote(jurisdiction, float(weight))
    return score
