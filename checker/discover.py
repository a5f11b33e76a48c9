"""Discovery: which same-site links to follow, and what role each page plays (about, contact, returns, product...)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rxcheck.parse import Link
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.facts.medicines import MedicineIndex
    from rxcheck.reference import Reference

SEGMENT_SPLIT = re.compile(r"[/\-_.?=&]+")
SKIP_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".css", ".js", ".ico", ".zip", ".mp4", ".woff")


@dataclass(frozen=True)
class Candidate:
    url: str
    role: str
    priority: int


class RoleMatcher:
    """Names the role of a page from its URL and link text, using `reference/page_roles.yaml` and the medicines list.
    The table's `skip_url` words name URL path segments never worth fetching (login, cart, search...)."""

    def __init__(self, reference: Reference, medicines: MedicineIndex) -> None:
        table = reference.get("page_roles") or {}
        roles = table.get("roles", {})
        self.skip_words = frozenset(str(w).lower() for w in table.get("skip_url") or ())
        self.roles: list[tuple[str, int, set[str], list[str]]] = sorted(
            ((name, spec.get("priority", 50), {w.lower() for w in spec.get("url", [])},
              [t.lower() for t in spec.get("text", [])]) for name, spec in roles.items()),
            key=lambda role: role[1],
        )  # fmt: skip
        self.medicines = medicines

    @property
    def role_names(self) -> list[str]:
        return [name for name, *_ in self.roles]

    def mentions_medicine(self, text: str) -> bool:
        """Whether the text names a medicine of the reference list (names under 4 letters are too ambiguous)."""
        return any(len(mention.written) >= 4 for mention in self.medicines.find(text))

    def role_of(self, url: str, text: str = "") -> tuple[str, int]:
        """The best role for a link (or page URL + title) and its crawl priority; ('other', 99) when none fits."""
        path = urlsplit(url).path.lower()
        segments = {s for s in SEGMENT_SPLIT.split(path) if s}
        whole_segments = {s for s in path.split("/") if s}
        label = " ".join(text.lower().split())
        best: tuple[str, int] | None = None
        for name, priority, url_words, phrases in self.roles:
            if name in ("product", "category"):
                continue
            by_text = any(label == p or (len(p) > 4 and p in label and len(label) < 40) for p in phrases)
            by_url = bool(whole_segments & url_words) or bool(segments & url_words)
            if by_text or by_url:
                best = (name, priority)
                break
        if best:
            return best
        if self.mentions_medicine(path.replace("-", " ") + " " + label):
            return ("product", self._priority("product"))
        for name in ("category", "product"):
            for role_name, priority, url_words, phrases in self.roles:
                if role_name == name and (segments & url_words or any(label == p for p in phrases)):
                    return (name, priority)
        return ("other", 99)

    def _priority(self, name: str) -> int:
        return next((p for n, p, _, _ in self.roles if n == name), 50)


def choose_links(
    links: Iterable[Link],
    *,
    site_domains: set[str],
    seen: set[str],
    matcher: RoleMatcher,
    per_role: dict[str, int],
) -> list[Candidate]:
    """Same-site links worth fetching, best first. `per_role` caps how many pages of each role to take."""
    taken: dict[str, int] = {}
    found: dict[str, Candidate] = {}
    for link in links:
        url = link.href
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or url in seen or url in found:
            continue
        if registrable_domain(url) not in site_domains:
            continue
        path = parts.path.lower()
        if path.endswith(SKIP_EXTENSIONS) or set(SEGMENT_SPLIT.split(path)) & matcher.skip_words:
            continue
        role, priority = matcher.role_of(url, link.text or link.title)
        if role == "other":
            continue
        found[url] = Candidate(url=url, role=role, priority=priority)
    chosen = []
    for candidate in sorted(found.values(), key=lambda c: c.priority):
        if taken.get(candidate.role, 0) >= per_role.get(candidate.role, 1):
            continue
        taken[candidate.role] = taken.get(candidate.role, 0) + 1
        chosen.append(candidate)
    return chosen
