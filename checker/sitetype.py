"""What kind of site this is: a pharmacy (or another seller of medicines), an information site, or unknown.

The stage between facts and verdict. It collects evidence on both sides, each signal once with the weight that
`rules/reference/site_type.yaml` gives it, and weighs them as a regulator would; the words behind the text signals
are lexicon lists (`rules/reference/lexicon/<lang>.yaml`). Python here knows only structure: which page, which
block, where a link leads, what the structured data says.

- Seller evidence: an order path of its own next to medicines; prices of medicines; named medicines offered;
  dispensing (nomination, refills, transfers, uploads); naming itself a pharmacy; a pharmacy registration; speaking
  as a seller; and, decisively, a red flag stated about itself in a seller's voice (first person or imperative).
- Evidence of another kind of site: structured data or a name that says article, authority, university, news,
  forum, insurer or clinic; links that send readers to other shops; warnings and quotations about other sellers;
  the voice of an adviser; the shape of articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rxcheck.facts import Fact, Facts
from rxcheck.facts.commerce import links_out
from rxcheck.facts.domain import site_domains
from rxcheck.language import Language, heading_context, snippet
from rxcheck.lexicon import Lexicon, Scan
from rxcheck.parse import Block
from rxcheck.result import Evidence, Finding, SiteType, SiteTypeEvidence
from rxcheck.snapshot import Page, Site, not_found
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

ORDER_SIGNALS = ("cart_button", "checkout_link", "order_form", "product_offer_jsonld", "message_order", "order_link")
COPYRIGHT_SIGNS = ("©", "(c)")  # and the lexicon's `rights_notice` words ("Copyright", "alle Rechte vorbehalten")
QUOTE_TAGS = {"blockquote", "q"}


@dataclass(frozen=True)
class Signal:
    name: str
    side: str  # seller | other
    weight: float
    describe: str
    decisive: bool = False


class SiteTypePolicy:
    """The weights and thresholds of `reference/site_type.yaml`, read once per pack."""

    def __init__(self, table: dict[str, Any] | None) -> None:
        table = table or {}
        self.seller_threshold = float(table.get("seller_threshold", 2.0))
        self.other_threshold = float(table.get("other_threshold", 1.5))
        self.min_seller_evidence = float(table.get("min_seller_evidence", 1.25))
        self.signals = {
            name: Signal(name, spec["side"], float(spec["weight"]), spec["describe"], bool(spec.get("decisive")))
            for name, spec in (table.get("signals") or {}).items()
        }
        types = table.get("schema_types") or {}
        self.pharmacy_types = set(types.get("pharmacy") or [])
        self.other_types = set(types.get("other") or [])
        self.premises_schemes = set(table.get("premises_schemes") or [])
        self.dosage_units = set(table.get("dosage_units") or [])
        self.min_hits: dict[str, int] = {k: int(v) for k, v in (table.get("min_hits") or {}).items()}


class _Collector:
    """Evidence for one site, one item per signal (the first found)."""

    def __init__(self, policy: SiteTypePolicy) -> None:
        self.policy = policy
        self.found: dict[str, SiteTypeEvidence] = {}

    def add(self, signal: str, evidence: Evidence | None, **extra: Any) -> None:
        spec = self.policy.signals.get(signal)
        if spec is None or evidence is None or signal in self.found:
            return
        self.found[signal] = SiteTypeEvidence(
            signal=signal, side=spec.side, weight=spec.weight, describe=spec.describe,
            url=evidence.url, snippet=evidence.snippet, locator=evidence.locator, **extra,
        )  # fmt: skip

    def score(self, side: str) -> float:
        return sum(item.weight for item in self.found.values() if item.side == side)


def decide_site_type(site: Site, facts: Facts, findings: list[Finding], pack: RulePack) -> SiteType:
    """The site's type and the evidence for it, weighed by the pack's `site_type` table."""
    policy, lexicon, language = pack.site_types, pack.lexicon, pack.language
    found = _Collector(policy)
    text = _TextSignals(site, pack)
    domains = site_domains(site)

    dispensing = text.first("dispensing") or _upload_form(facts)
    refers_out = list(_refers_out(site, domains, lexicon))
    orders = [c for c in facts.of("commerce") if c.get("signal") in ORDER_SIGNALS]
    if refers_out:  # a comparison site's structured data lists other shops' offers, not an order path of its own
        orders = [c for c in orders if c.get("signal") != "product_offer_jsonld"]
    order = orders[0].evidence if orders else text.first("order_by_message")
    order_pages = {c.evidence.url for c in orders if c.evidence} | ({order.url} if order else set())
    prices = _medicine_prices(facts, site, domains, policy.dosage_units)
    own_prices = [p for p in prices if p.evidence and (p.evidence.url in order_pages or text.seller_voice(p.evidence))]
    offers = [o for o in facts.of("offer") if o.get("via") != "price"]
    if order is not None:
        found.add("order_path" if (prices or offers or dispensing) else "order_path_no_medicines", order)
    if own_prices:
        found.add("prices_medicines", own_prices[0].evidence)
    elif prices:
        found.add("prices_without_order", prices[0].evidence)
    if offers:
        found.add("offers_medicines", offers[0].evidence)
    found.add("dispenses", dispensing)
    for page, item in _json_ld_types(site):
        if item in policy.pharmacy_types:
            found.add("pharmacy_schema", Evidence(url=page.final_url, snippet=f"JSON-LD @type {item}",
                                                  locator="script[type='application/ld+json']"))  # fmt: skip
        elif item in policy.other_types:
            found.add("publisher_schema", Evidence(url=page.final_url, snippet=f"JSON-LD @type {item}",
                                                   locator="script[type='application/ld+json']"))  # fmt: skip
    for _page, identity in _identity_texts(site, lexicon):
        if not language.is_warning(identity.snippet) and _proper_name(identity.snippet, lexicon):
            found.add("names_itself_pharmacy", identity)
        if lexicon.matcher("other_identity").search(identity.snippet):
            found.add("other_identity", identity)
    premises = [
        f
        for f in facts.of("licence")
        if f.get("scheme") in policy.premises_schemes and f.get("valid_format") is not False
    ] + [f for f in facts.of("seal") if f.get("link_kind") == "register" and f.get("domain_in_link")]
    if premises:
        found.add("registered_premises", premises[0].evidence or _fact_evidence(site, premises[0]))
    text.add_counted(found, "seller_statements", "seller_statement")
    found.add("disclaims_selling", text.first("not_a_seller"))
    found.add("dispensed_elsewhere", text.first("dispensed_elsewhere"))
    for finding in findings:
        if finding.kind == "red_flag":
            voiced = next((e for e in finding.evidence if text.seller_voice(e)), None)
            if voiced is not None:
                found.add("seller_red_flag", voiced, rule=finding.rule)
            stated = next((e for e in finding.evidence if e.locator and not _quoted_block(e.locator)), None)
            if finding.severity == "critical" and stated is not None:
                found.add("states_red_flag", stated, rule=finding.rule)
    text.add_counted(found, "refers_out", None, hits=refers_out)
    talk = [f for f in _statused(facts) if f.get("status") in ("warning", "quoted")]
    if len({(f.kind, str(f.value)) for f in talk}) >= policy.min_hits.get("talks_about_sellers", 1):
        found.add("talks_about_sellers", talk[0].evidence)
    text.add_counted(found, "advice_voice", "advice")
    text.add_counted(found, "article_markers", "article_marker")
    text.add_counted(found, "discussion_markers", "discussion_marker")
    if not found.found:
        found.add(
            "nothing_found",
            not_found(site, "an order path, prices of medicines, a seller's statements, or a publisher"),
        )
    return _weigh(found, policy)


def untested_site_type(kind: str, describe: str, url: str, snippet: str) -> SiteType:
    """The site type of a result that was not weighed: an unreachable site (`unknown`, the error as evidence), or one
    whose verdict the operator fixed (the override as evidence)."""
    item = SiteTypeEvidence(signal="not_weighed", side="other", weight=0.0, describe=describe, url=url, snippet=snippet)
    return SiteType(type=kind, evidence=[item])


def _weigh(found: _Collector, policy: SiteTypePolicy) -> SiteType:
    seller, other = found.score("seller"), found.score("other")
    decisive = any(item.side == "seller" and policy.signals[item.signal].decisive for item in found.found.values())
    strong_seller = seller >= policy.seller_threshold
    if decisive or (strong_seller and seller > other):
        kind = "pharmacy"
    elif other >= policy.other_threshold and (other >= seller or not strong_seller):
        kind = "information"
    else:
        kind = "unknown"
    evidence = sorted(found.found.values(), key=lambda e: (e.side != ("other" if kind == "information" else "seller"),
                                                          -e.weight))  # fmt: skip
    seller_evidence = seller >= policy.min_seller_evidence
    return SiteType(
        type=kind,
        seller_score=round(seller, 2),
        other_score=round(other, 2),
        seller_evidence=seller_evidence,
        evidence=evidence,
    )


class _TextSignals:
    """Lexicon hits in the site's text that the page asserts (not negated, quoted, asked or warned about)."""

    def __init__(self, site: Site, pack: RulePack) -> None:
        self.site = site
        self.lexicon: Lexicon = pack.lexicon
        self.language: Language = pack.language
        self.prices = pack.prices

    @cached_property
    def _blocks(self) -> list[tuple[Page, Block, str, Scan | None]]:
        """Every block of the site with its heading context and its lexicon scan, looked up once for all lists."""
        return [
            (page, block, context, self.lexicon.scan(block.text))
            for page in self.site.html_pages()
            for block, context in zip(page.blocks, heading_context(page), strict=True)
        ]

    def hits(self, list_name: str) -> Iterator[tuple[Evidence, str]]:
        """Each hit of the list that the page asserts, with its term."""
        matcher = self.lexicon.matcher(list_name)
        for page, block, context, scan in self._blocks:
            found = matcher.hits_in(scan) if scan is not None else tuple(matcher.finditer(block.text))
            if not found or _quoted_block(block.locator):
                continue
            for hit in found:
                if self.status(block.text, hit.start, hit.end, context) == "asserted":
                    yield _evidence(page, block.text, block.locator, hit.start, hit.end), hit.term

    def status(self, text: str, start: int, end: int, context: str) -> str:
        """The phrase's status, with a negation right after it counted too ("Wir verkaufen keine Arzneimittel")."""
        status = self.language.status(text, start, end, context)
        if status == "asserted" and self.language.negation.search(" ".join(text[end:].split()[:2])):
            return "negated"
        return status

    def first(self, list_name: str) -> Evidence | None:
        return next((evidence for evidence, _term in self.hits(list_name)), None)

    def add_counted(
        self, found: _Collector, signal: str, list_name: str | None, hits: Iterable[tuple[Evidence, str]] = ()
    ) -> None:
        """The signal, when at least `min_hits` distinct hits (a term in a place) show it, shown by the first hit.
        Hits are looked for only until that many are found."""
        needed = found.policy.min_hits.get(signal, 1)
        first: Evidence | None = None
        distinct: set[tuple[str, str, str]] = set()
        for evidence, term in self.hits(list_name) if list_name else hits:
            if first is None:
                first = evidence
            distinct.add((evidence.url, evidence.snippet, term))
            if len(distinct) >= needed:
                found.add(signal, first)
                return

    def seller_voice(self, evidence: Evidence) -> bool:
        """Whether the evidence speaks as a seller, outside quoted blocks: a seller's statement in the first person
        ("we accept Bitcoin only", "we ship worldwide") or an imperative to order ("no prescription needed, order
        today")."""
        if _quoted_block(evidence.locator) or _ends_a_quotation(evidence.snippet):
            return False
        return any(
            self.lexicon.matcher(name).search(evidence.snippet) for name in ("seller_statement", "imperative_order")
        )


def _evidence(page: Page, text: str, locator: str, start: int, end: int) -> Evidence:
    return Evidence(url=page.final_url, snippet=snippet(text, start, end), locator=locator)


def _quoted_block(locator: str) -> bool:
    """Whether a block sits inside a quotation (`blockquote`, `q`): a seller's words cited by someone else."""
    return any(step.split(":", 1)[0].split(".", 1)[0].split("#", 1)[0] in QUOTE_TAGS for step in locator.split(" > "))


def _ends_a_quotation(snippet: str) -> bool:
    """Whether the words close guillemets they did not open: the end of a quotation that began in an earlier
    sentence («Ozempic sin receta, 60 €. Envío discreto a toda España»)."""
    depth = 0
    for char in snippet:
        if char in "«‹":
            depth += 1
        elif char in "»›":
            if depth == 0:
                return True
            depth -= 1
    return False


def _medicine_prices(facts: Facts, site: Site, domains: set[str], dosage_units: set[str]) -> list[Fact]:
    """The site's own asserted prices of medicines (a strength, a dosage form or a named medicine), not prices in
    blocks that link out to other shops."""
    return [
        price
        for price in facts.of("price")
        if price.get("status") in (None, "asserted")
        and (price.get("medicine") or price.get("strength") or price.get("unit") in dosage_units)
        and not (price.evidence and _links_out(site, price.evidence, domains))
    ]


def _upload_form(facts: Facts) -> Evidence | None:
    return next((f.evidence for f in facts.of("prescription_step") if f.get("via") == "form"), None)


def _statused(facts: Facts) -> Iterator[Fact]:
    for kind in ("no_prescription_claim", "payment_method", "price", "licence_claim", "masked_descriptor"):
        yield from facts.of(kind)


def _json_ld_types(site: Site) -> Iterator[tuple[Page, str]]:
    for page in site.html_pages():
        for item in _walk_json_ld(page.doc.json_ld if page.doc else [], depth=0):
            kind = item.get("@type")
            for name in kind if isinstance(kind, list) else [kind]:
                if isinstance(name, str):
                    yield page, name.rsplit("/", 1)[-1]


def _walk_json_ld(items: list[Any], depth: int) -> Iterator[dict]:
    """Top-level items and their @graph (types of nested values, such as an offer's seller, are not the site's)."""
    for item in items:
        if isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list) and depth < 2:
                yield from _walk_json_ld(graph, depth + 1)


def _identity_texts(site: Site, lexicon: Lexicon) -> Iterator[tuple[Page, Evidence]]:
    """Where a site names itself: the title and first heading of its start and home pages, and copyright lines."""
    rights = lexicon.matcher("rights_notice")
    pages = [p for i, p in enumerate(site.html_pages()) if i == 0 or p.role == "home"]
    for page in pages:
        if page.title:
            yield page, Evidence(url=page.final_url, snippet=page.title[:300], locator="title")
        heading = next((b for b in page.blocks if b.tag == "h1"), None)
        if heading is not None:
            yield page, Evidence(url=page.final_url, snippet=heading.text[:300], locator=heading.locator)
        for block in page.blocks:
            short = len(block.text) < 300
            if short and (any(sign in block.text.lower() for sign in COPYRIGHT_SIGNS) or rights.search(block.text)):
                yield page, Evidence(url=page.final_url, snippet=block.text, locator=block.locator)


def _proper_name(text: str, lexicon: Lexicon) -> bool:
    """Whether a pharmacy word in `text` is part of a name ("Hartwell Pharmacy", "Linden-Apotheke", "Pharmacie du
    Beffroi"): a capitalised word next to it, or the word itself capitalised inside a compound."""
    for hit in lexicon.matcher("pharmacy_word").finditer(text):
        word = text[hit.start : hit.end]
        before = text[: hit.start].rstrip(" -").split(" ")[-1:] or [""]
        after = text[hit.end :].lstrip(" -").split(" ")[:2]
        if word[:1].isupper() and (before[0][:1].isupper() or any(w[:1].isupper() for w in after)):
            return True
        if hit.start > 0 and text[hit.start - 1] == "-" and before[0][:1].isupper():
            return True
    return False


def _links_out(site: Site, evidence: Evidence, domains: set[str]) -> bool:
    """Whether the block that shows `evidence` links only to other sites (a price-comparison listing)."""
    page = next((p for p in site.html_pages() if p.final_url == evidence.url), None)
    if page is None or not evidence.locator:
        return False
    return links_out(page, evidence.locator, domains)


def _refers_out(site: Site, domains: set[str], lexicon: Lexicon) -> Iterator[tuple[Evidence, str]]:
    """Links to other sites' shops ("Buy at ...", "View offer")."""
    matcher = lexicon.matcher("refer_out")
    for page in site.html_pages():
        for link in page.links:
            if (
                link.href.startswith(("http://", "https://"))
                and registrable_domain(link.href) not in domains
                and matcher.search(link.text)
            ):
                snippet = f"link “{link.text}” to {link.href}"[:300]
                yield Evidence(url=page.final_url, snippet=snippet, locator=link.locator), link.href


def _fact_evidence(site: Site, fact: Fact) -> Evidence:
    return Evidence(url=site.final_url or site.start_url, snippet=str(fact.value)[:300])
