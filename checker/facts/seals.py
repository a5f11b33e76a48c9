"""Seals, badges and logos of regulators and accreditors, and where they link.

Issuers, their names and their register links come from `rules/reference/registers.yaml`.

Fact kind `seal`: a badge or logo: an image naming an issuer or linking to one, or a text link that works as a
badge (it leads to a register entry, or its text claims the seal: "LegitScript certified", "Verified Pharmacy"; a
plain link to a regulator's home page is not a seal). One per issuer, link and way it was found (repeated
footers count once).
value: the issuer: legitscript | nabp | gphc | mhra | cqc | eu_common_logo | cipa | pharmacychecker | imitation
(a seal-like name issued by nobody: "Verified Pharmacy", "Certified Online Pharmacy", "FDA approved", "100% secure").
attrs:
- `issuer` (as value), `via` (image | link),
- `alt`, `src` (image alt text and URL; "" for links and text), `text` (link text or nearby text),
- `link_href` (the URL the badge links to, or null), `link_domain` (its registrable domain, or null),
- `link_kind`: none (no link) | self (the site's own domain) | register (the issuer's register or verification entry
  for this site: right host and path, and the site's domain in it where the issuer puts it there) | issuer_other
  (the issuer's domain, but not this site's register entry, e.g. its home page or another site's entry) | elsewhere,
- `register_match` (bool: the link has the shape of a register entry, whichever site it names),
- `domain_in_link` (bool: the site's registrable domain appears in the link's path or query,
  e.g. `legitscript.com/websites/?checker_keywords=shop.com`),
- `jurisdiction` (the issuer's: GB, EU, US, CA, INT; null for imitations),
- `register_country` (national register the link points to, EU logos only, or null).

Fact kind `seal_claim`: a sentence claiming an accreditation without any badge ("We are VIPPS accredited",
"LegitScript certified pharmacy"); issuers legitscript, nabp, cipa, pharmacychecker. One per issuer.
value: the issuer. attrs: `issuer`, `jurisdiction`, `text` (the sentence's block, up to 200 characters).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import re2

from rxcheck import regex
from rxcheck.facts import Fact
from rxcheck.facts._common import RE2_OPTIONS, evidence, fold, terms_pattern
from rxcheck.facts.domain import site_domains
from rxcheck.result import Evidence
from rxcheck.snapshot import Site
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

MAX_BADGE_TEXT = 100
TEXT_CLAIM_ISSUERS = ("legitscript", "nabp", "cipa", "pharmacychecker")


@dataclass
class Register:
    host: str
    path: Any  # compiled RE2
    query: Any
    domain_expected: bool
    country: str | None
    jurisdiction: str | None


@dataclass
class Issuer:
    key: str
    jurisdiction: str | None
    aliases: Any
    exclude: Any
    domains: set[str] = field(default_factory=set)
    registers: list[Register] = field(default_factory=list)


def _compile(pattern: str | None) -> Any:
    return regex.compile(f"(?i){pattern}", RE2_OPTIONS) if pattern else None


def issuers_from(table: Any) -> list[Issuer]:
    issuers = []
    for key, spec in ((table or {}).get("issuers") or {}).items():
        issuer = Issuer(
            key=key,
            jurisdiction=spec.get("jurisdiction"),
            aliases=terms_pattern(spec.get("aliases") or []),
            exclude=terms_pattern(spec.get("exclude") or []),
            domains={str(d).lower() for d in spec.get("domains") or []},
        )
        for reg in spec.get("registers") or []:
            host = str(reg["host"]).lower()
            issuer.registers.append(
                Register(
                    host,
                    _compile(reg.get("path") or r"^/."),
                    _compile(reg.get("query")),
                    bool(reg.get("domain_expected")),
                    reg.get("country"),
                    reg.get("jurisdiction") or issuer.jurisdiction,
                )
            )
            issuer.domains.add(registrable_domain(f"http://{host}/"))
        issuers.append(issuer)
    return sorted(issuers, key=lambda i: i.key == "imitation")  # real issuers first


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    known = pack.issuers
    claim_words = pack.lexicon.matcher("seal_claim_word")
    domains = site_domains(site)
    facts: dict[tuple, Fact] = {}
    names = pack.compiled("seal_names", lambda pack: _names_set(pack.issuers))
    named: dict[str, Issuer | None] = {}  # badges and links repeat on every page: each label read once

    def by_name(label: str) -> Issuer | None:
        if label not in named:
            named[label] = _by_name(known, label, names)
        return named[label]

    for page in site.html_pages():
        block_text: dict[str, str] | None = None  # by locator, for the few badges with no label
        image_links = set()
        for image in page.images:
            name = urlsplit(image.src).path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            issuer = by_name(f"{image.alt} | {image.title} | {name}") or _by_link(known, image.link_href)
            nearby = ""
            if issuer is None and not (image.alt or image.title):  # an unlabelled badge: read its caption
                if block_text is None:
                    block_text = {block.locator: block.text for block in page.blocks}
                nearby = _nearby(block_text, image.locator)
                issuer = by_name(nearby) if claim_words.search(nearby) else None
            if issuer is None:
                continue
            if image.link_href:
                image_links.add(image.link_href)
            attrs = _attrs(
                issuer, image.link_href, domains, known, via="image", alt=image.alt, src=image.src, text=nearby
            )
            snippet = f"image “{image.alt or name}”" + (
                f" linking to {image.link_href}" if image.link_href else " (no link)"
            )
            _add(facts, attrs, Evidence(url=page.final_url, snippet=snippet[:300], locator=image.locator))
        for link in page.links:
            if link.href in image_links or not link.href.startswith(("http://", "https://")):
                continue
            label = f"{link.text} | {link.title}" if len(link.text) <= MAX_BADGE_TEXT else link.title
            issuer = by_name(label) or _by_link(known, link.href)
            if issuer is None:
                continue
            attrs = _attrs(issuer, link.href, domains, known, via="link", text=link.text)
            if attrs["link_kind"] != "register" and not claim_words.search(label):
                continue  # "General Pharmaceutical Council" linking to its home page: a reference, not a seal
            snippet = f"link “{link.text or link.title}” to {link.href}"
            _add(facts, attrs, Evidence(url=page.final_url, snippet=snippet[:300], locator=link.locator))
        for block in page.blocks:
            if len(block.text) > 300 or not claim_words.search(block.text):
                continue
            issuer = _by_name([i for i in known if i.key in TEXT_CLAIM_ISSUERS], block.text)
            if issuer is not None and ("seal_claim", issuer.key) not in facts:
                attrs = {"issuer": issuer.key, "jurisdiction": issuer.jurisdiction, "text": block.text[:200]}
                facts[("seal_claim", issuer.key)] = Fact("seal_claim", issuer.key, attrs,
                                                         evidence(page, block.text, block))  # fmt: skip
    return list(facts.values())


def _add(facts: dict[tuple, Fact], attrs: dict, ev: Evidence) -> None:
    key = ("seal", attrs["issuer"], attrs["link_href"], attrs["via"])
    facts.setdefault(key, Fact("seal", attrs["issuer"], attrs, ev))


def _nearby(block_text: dict[str, str], locator: str) -> str:
    """The text of the block that holds the image (parent or grandparent), when short enough to be its caption."""
    steps = locator.split(" > ")
    for n in range(len(steps) - 1, max(0, len(steps) - 3), -1):
        text = block_text.get(" > ".join(steps[:n]))
        if text is not None:
            return text if len(text) <= MAX_BADGE_TEXT else ""
    return ""


def _names_set(known: list[Issuer]) -> re2.Set | None:
    """Every issuer's names in one RE2 set (slot i: known[i]; an issuer without names matches nothing)."""
    if not any(issuer.aliases is not None for issuer in known):
        return None
    names = re2.Set.SearchSet(RE2_OPTIONS)
    for issuer in known:
        names.Add(issuer.aliases.pattern if issuer.aliases is not None else r"[^\x00-\x{10FFFF}]")
    names.Compile()
    return names


def _by_name(known: list[Issuer], label: str, names: re2.Set | None = None) -> Issuer | None:
    """The first issuer named in the label (its names found, its exclusions not). `names`, the `_names_set` of
    `known`, finds the issuers named in one pass."""
    folded = fold(label).replace("_", " ")
    if names is not None:
        hit = set(names.Match(folded) or ())
        known = [issuer for i, issuer in enumerate(known) if i in hit]
    for issuer in known:
        if issuer.aliases is not None and issuer.aliases.search(folded):
            if issuer.exclude is not None and issuer.exclude.search(folded):
                continue
            return issuer
    return None


def _by_link(known: list[Issuer], href: str | None) -> Issuer | None:
    if not href or not href.startswith(("http://", "https://")):
        return None
    domain = registrable_domain(href)
    return next((i for i in known if domain in i.domains), None)


def _attrs(
    issuer: Issuer,
    href: str | None,
    domains: set[str],
    known: list[Issuer],
    *,
    via: str,
    alt: str = "",
    src: str = "",
    text: str = "",
) -> dict:
    link_domain = registrable_domain(href) if href and href.startswith(("http://", "https://")) else None
    if issuer.key == "imitation" and href:  # a generic name on a badge that links to a real issuer: that issuer's
        issuer = next((i for i in known if link_domain in i.domains), issuer)
    parts = urlsplit(href) if href else None
    where = unquote(f"{parts.path}?{parts.query}").lower() if parts else ""
    domain_in_link = bool(parts) and any(d and d in where for d in domains)
    register = _register(issuer, parts) if parts else None
    if link_domain is None:
        kind = "none"
    elif link_domain in domains:
        kind = "self"
    elif register is not None and (not register.domain_expected or domain_in_link):
        kind = "register"
    elif link_domain in issuer.domains:
        kind = "issuer_other"
    else:
        kind = "elsewhere"
    return {
        "issuer": issuer.key,
        "via": via,
        "alt": alt,
        "src": src,
        "text": text[:200],
        "link_href": href,
        "link_domain": link_domain,
        "link_kind": kind,
        "register_match": register is not None,
        "domain_in_link": domain_in_link,
        "jurisdiction": register.jurisdiction if register else issuer.jurisdiction,
        "register_country": register.country if register else None,
    }


def _register(issuer: Issuer, parts) -> Register | None:
    host = (parts.hostname or "").lower()
    for reg in issuer.registers:
        if host != reg.host and not host.endswith("." + reg.host):
            continue
        if reg.path is not None and not reg.path.search(parts.path or "/"):
            continue
        if reg.query is not None and not reg.query.search(parts.query):
            continue
        return reg
    return None
