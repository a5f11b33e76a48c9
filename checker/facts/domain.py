"""The site's domain, and redirects that leave it.

Fact kinds:

- `domain`: exactly one per site. value: registrable domain of the start URL (e.g. `shop.co.uk`).
  attrs: `host`, `subdomain`, `suffix` (public suffix, e.g. `co.uk`, `pharmacy`), `scheme` (of the start URL),
  `final_scheme`, `final_host`, `final_domain` (registrable domain of the final URL of the start page),
  `cross_domain_redirect` (bool: the start page's redirect chain ends on another registrable domain),
  `pharmacy_tld` (bool: suffix is `pharmacy`, issued only after NABP review),
  `medicine_in_domain` (canonical medicine name found in the domain labels, e.g. `buyviagraonline.com` ->
  sildenafil; null when none), `medicine_name_in_domain` (the name as found, e.g. `viagra`),
  `lookalike_of` (name of a pharmacy brand from `rules/reference/brands.yaml` whose name is in the domain while
  the domain is not one of the brand's own; null when none).
- `redirect`: one per page whose redirect chain crosses registrable domains.
  value: the target registrable domain. attrs: `from_domain`, `to_domain`, `chain` (list of URLs), `start_page`
  (bool: the redirect is the start page's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rxcheck import regex
from rxcheck.facts import Fact
from rxcheck.facts._common import RE2_OPTIONS
from rxcheck.result import Evidence
from rxcheck.snapshot import Site
from rxcheck.urls import host_parts, registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack


LABEL_SPLIT = re.compile(r"[-0-9]+")
MIN_SUBSTRING = (
    8  # inside a label, a name follows filler words ("buy", "cheap"); a shorter one is also followed by them
)


def _filler(pack: RulePack) -> regex.Pattern:
    """Nothing but filler words, run together (a domain label has no spaces)."""
    return regex.compile(f"^(?:{pack.lexicon.alternation('domain_filler_word')})*$", RE2_OPTIONS)


def site_domains(site: Site) -> set[str]:
    """The registrable domains the site itself lives on: its start URL's and its final URL's."""
    urls = [site.start_url] + ([site.final_url] if site.final_url else [])
    return {registrable_domain(url) for url in urls}


def name_in_labels(name: str, labels: list[str], filler: regex.Pattern) -> bool:
    """Whether `name` (lowercase, no spaces) is in the domain labels: as a whole part (labels split on hyphens and
    digits), or inside a part or the concatenated label after filler words ("buyviagraonline", "walgreensrx"), so
    "hartwellpharmacy" is not "wellpharmacy" and "specialist" is not "cialis"."""
    if not name:
        return False
    for label in labels:
        parts = [p for p in LABEL_SPLIT.split(label) if p]
        if name in parts:
            return True
        for part in [*parts, "".join(parts)]:
            at = part.find(name)
            while at >= 0:
                before, after = part[:at], part[at + len(name) :]
                if filler.match(before) and (len(name) >= MIN_SUBSTRING or filler.match(after)):
                    return True
                at = part.find(name, at + 1)
    return False


def extract(site: Site, pack: RulePack) -> Iterable[Fact]:
    start = urlsplit(site.start_url)
    parts = host_parts(start.hostname or "")
    domain = parts.top_domain_under_public_suffix or (start.hostname or "")
    final_url = site.final_url or site.start_url
    final = urlsplit(final_url)
    final_domain = registrable_domain(final_url)
    labels = [label for label in (parts.subdomain.split(".") + [parts.domain]) if label and label != "www"]
    medicine, medicine_name = _medicine_in(labels, pack)
    facts = [
        Fact(
            kind="domain",
            value=domain,
            attrs={
                "host": (start.hostname or "").lower(),
                "subdomain": parts.subdomain,
                "suffix": parts.suffix,
                "scheme": start.scheme,
                "final_scheme": final.scheme,
                "final_host": (final.hostname or "").lower(),
                "final_domain": final_domain,
                "cross_domain_redirect": final_domain != domain,
                "pharmacy_tld": parts.suffix == "pharmacy",
                "medicine_in_domain": medicine,
                "medicine_name_in_domain": medicine_name,
                "lookalike_of": _lookalike(domain, labels, pack),
            },
            evidence=Evidence(url=site.start_url, snippet=f"site address: {site.start_url}", locator="url"),
        )
    ]
    home = site.home
    for page in site.pages:
        chain = list(page.redirects) or [page.url]
        domains = [registrable_domain(url) for url in chain]
        if len(set(domains)) < 2:
            continue
        facts.append(
            Fact(
                kind="redirect",
                value=domains[-1],
                attrs={
                    "from_domain": domains[0],
                    "to_domain": domains[-1],
                    "chain": chain,
                    "start_page": page is home,
                },
                evidence=Evidence(url=page.url, snippet=" → ".join(chain)[:300], locator="redirect"),
            )
        )
    return facts


def _medicine_in(labels: list[str], pack: RulePack) -> tuple[str | None, str | None]:
    best: tuple[int, str, str] | None = None
    filler = pack.compiled("domain_filler", _filler)
    # a name in a label is in it with hyphens and digits removed: most names fail this test, at C speed
    letters = LABEL_SPLIT.sub("", " ".join(labels))
    for name, medicine in pack.medicines.domain_names():
        if (
            len(name) >= 4
            and name in letters
            and name_in_labels(name, labels, filler)
            and (best is None or len(name) > best[0])
        ):
            best = (len(name), medicine.name, name)
    return (best[1], best[2]) if best else (None, None)


def _lookalike(domain: str, labels: list[str], pack: RulePack) -> str | None:
    table = pack.reference.get("brands") or {}
    filler = pack.compiled("domain_filler", _filler)
    for brand in table.get("brands", []) if isinstance(table, dict) else []:
        own = {d.lower() for d in brand.get("domains") or []}
        if domain in own:
            continue
        if any(name_in_labels(str(m).lower().replace("-", ""), labels, filler) for m in brand.get("match") or []):
            return str(brand.get("name"))
    return None
