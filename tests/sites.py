"""Sites built from HTML strings, for tests: no network."""

from __future__ import annotations

from rxcheck.parse import parse_html
from rxcheck.snapshot import Page, Site


def build_site(pages: dict[str, tuple[str, str]], *, redirects: dict[str, list[str]] | None = None) -> Site:
    """A site from `url -> (html, role)`; the first URL is the start page. `redirects` maps a URL to the chain of
    URLs it was fetched through (the last one is where the page was found)."""
    redirects = redirects or {}
    built = []
    for url, (html, role) in pages.items():
        chain = redirects.get(url, [url])
        final = chain[-1]
        built.append(
            Page(url=url, final_url=final, status=200, headers={"content-type": "text/html"},
                 content_type="text/html", role=role, redirects=chain, doc=parse_html(html, final))
        )  # fmt: skip
    start = next(iter(pages))
    return Site(url=start, start_url=start, pages=built)


def page(body: str, title: str = "", lang: str = "en") -> str:
    return f"<html lang='{lang}'><head><title>{title}</title></head><body>{body}</body></html>"
