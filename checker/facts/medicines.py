"""Medicines the site mentions, and the ones it offers for sale.

Fact kinds:

- `medicine`: one per canonical medicine mentioned anywhere on the site (page text and titles).
  value: canonical generic name (from `rules/reference/medicines.yaml`).
  attrs: `rx_class` (prescription_only | controlled | otc), `names` (list: names as written, brand or generic),
  `brand_only` (bool: no generic approved in the US/EU, e.g. semaglutide), `high_risk` (bool),
  `unapproved_names` (list: names of unapproved products seen, e.g. Kamagra), `schedule` (mapping market ->
  schedule, controlled medicines only), `pages` (int: pages mentioning it), `roles` (list of page roles),
  `on_product_page` (bool). Evidence: the strongest mention (a product page, a block with a price or buy wording).
- `offer`: a medicine offered for sale on one page: named in the heading or title of a product page, in a link
  on a category page, or in a block with a price or buy/cart wording. One fact per medicine and page.
  value: canonical name. attrs: `medicine`, `rx_class` (`otc` also for a non-prescription product or a medicine
  with non-prescription forms), `brand_only`, `high_risk`, `names` (as written on the
  page), `via` (product_page | category_page | price | buy_wording), `generic_of_brand_only` (bool: "generic
  Ozempic", "generic semaglutide"...), `role` (page role).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rxcheck.facts import Fact
from rxcheck.facts._common import PRICE_HINT, evidence, find_terms, fold, terms_pattern
from rxcheck.language import Language
from rxcheck.lexicon import TermMatcher
from rxcheck.parse import Located
from rxcheck.snapshot import Page, Site

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

ORIGINATOR_MARKETS = ("US", "GB", "EU", "CA")
SHORT_BLOCK = 80  # a heading, button, link or product card, not a paragraph
PRICED_BLOCK = 200  # a price next to a medicine in longer text is more likely an article than an offer
GENERIC_REACH = 30  # "generic" at most this far before a name, with at most one word between
HEADINGS = ("h1", "h2")


@dataclass(frozen=True)
class Medicine:
    name: str
    rx_class: str
    brand_only: bool = False
    high_risk: bool = False
    dual_status: bool = False  # sold without prescription in some strengths or packs (pantoprazole 20 mg x 14)
    schedule: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    medicine: Medicine
    written: str
    kind: str  # generic | brand | unapproved
    nonprescription: bool = False  # a product sold without prescription somewhere, e.g. Viagra Connect


class MedicineIndex:
    """All medicine names from the reference as one RE2 program over folded text."""

    def __init__(self, table: Any) -> None:
        entries = table.get("medicines", []) if isinstance(table, dict) else (table or [])
        self.medicines: dict[str, Medicine] = {}
        self.terms: dict[str, tuple[Medicine, str]] = {}
        self.nonprescription: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("name"):
                continue
            med = Medicine(
                name=str(entry["name"]),
                rx_class=str(entry.get("rx_class") or "prescription_only"),
                brand_only=bool(entry.get("brand_only")),
                high_risk=bool(entry.get("high_risk")),
                dual_status=bool(entry.get("dual_status")),
                schedule=dict(entry.get("schedule") or {}),
            )
            self.medicines[med.name] = med
            brands = entry.get("brands") or {}
            if isinstance(brands, list):
                brands = {"any": brands}
            names: list[tuple[str, str]] = [(med.name, "generic")]
            names += [(str(a), "generic") for a in entry.get("aliases") or []]
            for market, items in brands.items():
                kind = "unapproved" if market == "unapproved" else "brand"
                names += [(str(b), kind) for b in items or []]
            for name in entry.get("nonprescription_names") or []:
                names.append((str(name), "brand"))
                self.nonprescription.add(_key(str(name)))
            for name, kind in names:
                self.terms.setdefault(_key(name), (med, kind))
        self.pattern = terms_pattern(self.terms)
        self._domain_names: list[tuple[str, Medicine]] | None = None

    def find(self, text: str, folded: str | None = None) -> list[Mention]:
        folded = fold(text) if folded is None else folded
        found = []
        for start, end, matched in find_terms(self.pattern, folded):
            med, kind = self.terms.get(_key(matched), (None, ""))
            if med is not None:
                found.append(Mention(start, end, med, text[start:end], kind, _key(matched) in self.nonprescription))
        return found

    def domain_names(self) -> list[tuple[str, Medicine]]:
        """Every name as it could appear in a domain label: lowercase, no spaces or hyphens (worked out once)."""
        if self._domain_names is None:
            self._domain_names = [(re.sub(r"[^a-z0-9]", "", term), med) for term, (med, _) in self.terms.items()]
        return self._domain_names


def _key(name: str) -> str:
    return " ".join(fold(name).replace("-", " ").split())


def generic_before(generic: TermMatcher, folded: str, start: int) -> bool:
    """Whether a "generic" word comes just before text[start:] ("generic Cialis", "generisches Viagra Pro")."""
    before = folded[max(0, start - GENERIC_REACH) : start]
    last = None
    for last in generic.finditer(before):  # noqa: B007 - the last one
        pass
    return last is not None and re.fullmatch(r"\s+(?:\w+\s+)?", before[last.end :]) is not None


def is_generic_of_brand_only(generic: TermMatcher, folded: str, mention: Mention) -> bool:
    return mention.medicine.brand_only and generic_before(generic, folded, mention.start)


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    index = pack.medicines
    if index.pattern is None:
        return []
    cue = pack.language
    cart_phrase, buy_verb = pack.lexicon.matcher("cart_phrase"), pack.lexicon.matcher("buy_verb")
    generic = pack.lexicon.matcher("generic_word")
    seen: dict[str, dict[str, Any]] = {}
    offers: list[Fact] = []
    for page in site.html_pages():
        offered: dict[str, Fact] = {}
        title_mentions = index.find(page.title)
        for med_mention in title_mentions:
            _note(seen, med_mention, page, page.title, "title", strength=1)
        for block in page.blocks:
            folded = fold(block.text)
            mentions = index.find(block.text, folded)
            if not mentions:
                continue
            short = len(block.text) <= SHORT_BLOCK
            has_price = bool(PRICE_HINT.search(block.text)) and (
                len(block.text) <= PRICED_BLOCK or page.role in ("product", "category")
            )
            has_buy = bool(cart_phrase.search(block.text) or (short and buy_verb.search(block.text)))
            strength = (2 if page.role == "product" else 0) + (1 if has_price or has_buy else 0)
            for mention in mentions:
                _note(seen, mention, page, block.text, block, strength)
                via = _offer_via(page, block.tag, has_price, has_buy, title_mentions, mention)
                if via in ("price", "buy_wording") and not _asserted(cue, block.text, mention):
                    via = None
                if via and _better(generic, offered.get(mention.medicine.name), folded, mention):
                    offered[mention.medicine.name] = _offer(generic, page, block.text, block, mention, via, folded)
        if page.role == "category":
            for link in page.links:
                for mention in index.find(link.text):
                    if mention.medicine.name not in offered:
                        offered[mention.medicine.name] = _offer(
                            generic, page, link.text, link, mention, "category_page", fold(link.text)
                        )
        offers.extend(offered.values())
    facts = [_medicine_fact(name, info) for name, info in seen.items()]
    return facts + offers


def _better(generic: TermMatcher, current: Fact | None, folded: str, mention: Mention) -> bool:
    """Whether this mention should be the page's offer of its medicine: the first one, or a "generic <brand>"."""
    if current is None:
        return True
    return not current.get("generic_of_brand_only") and is_generic_of_brand_only(generic, folded, mention)


def _asserted(cue: Language, text: str, mention: Mention) -> bool:
    return cue.status(text, mention.start, mention.end) == "asserted"


def _offer_via(
    page: Page, tag: str, has_price: bool, has_buy: bool, title_mentions: list[Mention], mention: Mention
) -> str | None:
    if page.role == "product" and (tag in HEADINGS or any(m.medicine is mention.medicine for m in title_mentions[:1])):
        return "product_page"
    if has_price:
        return "price"
    if has_buy:
        return "buy_wording"
    if page.role == "category" and tag in ("h2", "h3", "h4", "a"):
        return "category_page"
    return None


def _offer(
    generic: TermMatcher, page: Page, text: str, where: Located, mention: Mention, via: str, folded: str
) -> Fact:
    med = mention.medicine
    return Fact(
        kind="offer",
        value=med.name,
        attrs={
            "medicine": med.name,
            # as for no-prescription claims: a non-prescription product (Viagra Connect) or a medicine with
            # non-prescription forms (aciclovir cream) is not offered as a prescription-only medicine
            "rx_class": "otc" if mention.nonprescription or med.dual_status else med.rx_class,
            "brand_only": med.brand_only,
            "high_risk": med.high_risk,
            "names": [mention.written],
            "via": via,
            "generic_of_brand_only": is_generic_of_brand_only(generic, folded, mention),
            "role": page.role,
        },
        evidence=evidence(page, text, where, mention.start, mention.end),
    )


def _note(
    seen: dict[str, dict[str, Any]], mention: Mention, page: Page, text: str, where: Located | str, strength: int
) -> None:
    info = seen.setdefault(
        mention.medicine.name,
        {"medicine": mention.medicine, "names": {}, "unapproved": {}, "pages": {}, "best": None},
    )
    bucket = info["unapproved"] if mention.kind == "unapproved" else info["names"]
    bucket.setdefault(mention.written.lower(), mention.written)
    info["pages"][page.final_url] = page.role
    if info["best"] is None or strength > info["best"][0]:
        info["best"] = (strength, evidence(page, text, where, mention.start, mention.end))


def _medicine_fact(name: str, info: dict[str, Any]) -> Fact:
    med: Medicine = info["medicine"]
    roles = sorted(set(info["pages"].values()))
    return Fact(
        kind="medicine",
        value=name,
        attrs={
            "rx_class": med.rx_class,
            "names": sorted(info["names"].values()) + sorted(info["unapproved"].values()),
            "brand_only": med.brand_only,
            "high_risk": med.high_risk,
            "unapproved_names": sorted(info["unapproved"].values()),
            "schedule": med.schedule,
            "pages": len(info["pages"]),
            "roles": roles,
            "on_product_page": "product" in roles,
        },
        evidence=info["best"][1],
    )
