"""Policy and information pages the site has: crawled ones, and ones its links point to.

Fact kind `policy_page`: one per kind of page. value: the role: returns | delivery | privacy | terms | legal
(Impressum, mentions légales, colofon) | about | contact | faq | prescriptions | payment.
attrs: `url` (the crawled page, or the link's target), `crawled` (bool: a page with this role was fetched;
false when only a same-site link names it, e.g. a footer link the crawler did not follow), `link_text`.
Link texts and URL words come from `rules/reference/page_roles.yaml`, the table the crawler uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rxcheck.facts import Fact
from rxcheck.facts.domain import site_domains
from rxcheck.result import Evidence
from rxcheck.snapshot import Site
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

POLICY_ROLES = (
    "returns",
    "delivery",
    "privacy",
    "terms",
    "legal",
    "about",
    "contact",
    "faq",
    "prescriptions",
    "payment",
)
SEGMENT_SPLIT = re.compile(r"[/\-_.?=&]+")
MAX_LINK_TEXT = 40


def _role_table(reference: dict | None) -> list[tuple[str, set[str], list[str]]]:
    roles = (reference or {}).get("roles", {}) or {}
    table = []
    for name, spec in sorted(roles.items(), key=lambda item: item[1].get("priority", 50)):
        if name in POLICY_ROLES:
            urls = {str(w).lower() for w in spec.get("url", [])}
            texts = [str(t).lower() for t in spec.get("text", [])]
            table.append((name, urls, texts))
    return table


def link_role(table: list[tuple[str, set[str], list[str]]], href: str, text: str) -> str | None:
    """The policy role a link names by its text or its URL path, or None."""
    path = urlsplit(href).path.lower()
    segments = {s for s in SEGMENT_SPLIT.split(path) if s} | {s for s in path.split("/") if s}
    label = " ".join(text.lower().split())
    for name, urls, texts in table:
        by_text = any(label == t or (len(t) > 4 and t in label and len(label) <= MAX_LINK_TEXT) for t in texts)
        if by_text or segments & urls:
            return name
    return None


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    facts: dict[str, Fact] = {}
    for page in site.html_pages():
        if page.role in POLICY_ROLES and page.role not in facts:
            attrs = {"url": page.final_url, "crawled": True, "link_text": None}
            snippet = f"{page.role} page: {page.title or page.final_url}"[:300]
            facts[page.role] = Fact(
                "policy_page", page.role, attrs, Evidence(url=page.final_url, snippet=snippet, locator="title")
            )
    table = _role_table(pack.reference.get("page_roles"))
    domains = site_domains(site)
    roles: dict[tuple[str, str], str | None] = {}  # the same menu links on every page: each worked out once
    for page in site.html_pages():
        for link in page.links:
            key = (link.href, link.text or link.title)
            if key not in roles:
                own = link.href.startswith(("http://", "https://")) and registrable_domain(link.href) in domains
                roles[key] = link_role(table, *key) if own else None
            role = roles[key]
            if role is None or role in facts:
                continue
            attrs = {"url": link.href, "crawled": False, "link_text": link.text}
            snippet = f"link “{link.text}” to {link.href}"[:300]
            facts[role] = Fact(
                "policy_page", role, attrs, Evidence(url=page.final_url, snippet=snippet, locator=link.locator)
            )
    return list(facts.values())
