"""Helpers for fact tests: build a `Site` from HTML strings, no network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checker.engine.loader import RulePack, load_pack
from checker.facts import Facts
from checker.parse import parse_html
from checker.reference import Reference, load_reference
from checker.snapshot import Page, Site

RULES = Path(__file__).resolve().parents[2] / "rules"


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


@pytest.fixture(scope="session")
def reference() -> Reference:
    return load_reference([RULES])


@pytest.fixture(scope="session")
def pack() -> RulePack:
    return load_pack()


@pytest.fixture
def make_site() -> Callable[..., Site]:
    return build_site


@pytest.fixture
def html() -> Callable[..., str]:
    return page


@pytest.fixture
def run(pack: RulePack) -> Callable[..., Facts]:
    """Run one extractor (or `extract_facts`) on a site given as `url -> (html, role)`, or on a `Site`."""

    def run_extractor(extract, pages: dict | Site, **site_options) -> Facts:
        site = pages if isinstance(pages, Site) else build_site(pages, **site_options)
        result = extract(site, pack)
        return result if isinstance(result, Facts) else Facts(result)

    return run_extractor
