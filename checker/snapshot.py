"""The site snapshot: every fetched page, parsed once, with the role it plays on the site."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rxcheck.fetch import FetchResult
from rxcheck.parse import DEFAULT_PARSE_LIMITS, Block, Document, Image, Link, ParseLimits, parse_html
from rxcheck.result import Evidence

PAGES_LISTED_CHARS = 200  # how much of the list of pages checked an absence note shows
HTML_TYPES = {"text/html", "application/xhtml+xml", ""}


@dataclass
class Page:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content_type: str
    role: str
    redirects: list[str]
    doc: Document | None  # None when the response is not HTML
    truncated: bool = False
    source: FetchResult | None = field(default=None, repr=False, compare=False)  # the response parsed

    @classmethod
    def from_fetch(cls, result: FetchResult, role: str, limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> Page:
        headers = {key.lower(): value for key, value in result.final.headers}
        doc = None
        if result.content_type in HTML_TYPES and result.body:
            doc = parse_html(result.body, result.final_url, limits)
        return cls(
            url=result.url,
            final_url=result.final_url,
            status=result.status,
            headers=headers,
            content_type=result.content_type,
            role=role,
            redirects=result.redirect_chain,
            doc=doc,
            truncated=result.truncated,
            source=result,
        )

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def title(self) -> str:
        return self.doc.title if self.doc else ""

    @property
    def blocks(self) -> list[Block]:
        return self.doc.blocks if self.doc else []

    @property
    def links(self) -> list[Link]:
        return self.doc.links if self.doc else []

    @property
    def images(self) -> list[Image]:
        return self.doc.images if self.doc else []

    @property
    def text(self) -> str:
        return self.doc.text if self.doc else ""

    @property
    def notes(self) -> list[str]:
        """What parsing skipped or cut on this page (malformed URLs, JSON-LD too deep, text over budget...)."""
        return self.doc.notes if self.doc else []


@dataclass
class Site:
    url: str  # as the user gave it
    start_url: str  # normalised
    pages: list[Page] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (url, message) for pages that failed

    @property
    def notes(self) -> list[str]:
        """What was skipped or cut while reading the site's pages, one line each, naming the page."""
        return [f"{page.final_url}: {note}" for page in self.pages for note in page.notes]

    @property
    def home(self) -> Page | None:
        return self.pages[0] if self.pages else None

    @property
    def final_url(self) -> str | None:
        return self.home.final_url if self.home else None

    def html_pages(self) -> Iterator[Page]:
        return (page for page in self.pages if page.doc is not None and page.ok)

    def pages_with_role(self, *roles: str) -> list[Page]:
        return [page for page in self.html_pages() if page.role in roles]


def not_found(site: Site, what: str) -> Evidence:
    """Evidence that something was looked for and not found, naming the pages that were checked."""
    pages = list(site.html_pages())
    start = urlsplit(site.final_url or site.start_url)
    names = [p.final_url if urlsplit(p.final_url).netloc != start.netloc else urlsplit(p.final_url).path or "/"
             for p in pages]  # fmt: skip
    listed = ", ".join(names)
    if len(listed) > PAGES_LISTED_CHARS:
        listed = listed[:PAGES_LISTED_CHARS].rsplit(", ", 1)[0] + ", …"
    where = f"the page checked ({listed})" if len(pages) == 1 else f"the {len(pages)} pages checked ({listed})"
    return Evidence(url=site.final_url or site.start_url, snippet=f"Not found on {where}: {what}.", locator="")
