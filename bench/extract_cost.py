"""CPU milliseconds per KB of page text spent extracting facts: realistic fixture sites and a dense worst case.

    python bench/extract_cost.py

Replays the fixture WARC once, then times `extract_facts` (process CPU time, best of 3) on each fixture site and on a
synthetic category page of 300 dense product rows. Moved here from the test suite, which asserts no timing.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from checker.engine.loader import load_pack
from checker.facts.extract import extract_facts
from checker.fetch.archive import ArchiveFetcher
from checker.parse import parse_html
from checker.pipeline import Checker
from checker.snapshot import Page, Site

ROOT = Path(__file__).resolve().parent.parent
DENSE = "".join(
    f"<div><h3>Product {i}</h3><p>Tadalafil 20mg, 30 tabs – ${i}.99</p><a href='/p{i}'>Buy</a></div>"
    for i in range(300)
)


def cpu_ms(site: Site, pack) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        extract_facts(site, pack)
        best = min(best, time.process_time() - started)
    return best * 1000


def text_kb(site: Site) -> float:
    return sum(len(page.text) for page in site.html_pages()) / 1024


async def fixture_sites(checker: Checker) -> list[Site]:
    from checker.crawl import Crawler

    urls = [line.strip() for line in (ROOT / "fixtures" / "urls.txt").read_text().splitlines() if line.strip()]
    async with ArchiveFetcher(ROOT / "fixtures" / "sites.warc.gz") as fetcher:
        crawler = Crawler(fetcher, checker.pack.roles, checker.settings)
        return [await crawler.crawl(url, url) for url in urls]


def main() -> None:
    pack = load_pack()
    sites = asyncio.run(fixture_sites(Checker(pack=pack)))
    total_ms = sum(cpu_ms(site, pack) for site in sites)
    total_kb = sum(text_kb(site) for site in sites)
    page = Page(url="https://shop.example/", final_url="https://shop.example/", status=200, headers={},
                content_type="text/html", role="category", redirects=[],
                doc=parse_html(f"<html><body>{DENSE}</body></html>".encode(), "https://shop.example/"))  # fmt: skip
    dense = Site(url=page.url, start_url=page.url, pages=[page])
    print(f"realistic: {len(sites)} fixture sites, {total_kb:,.0f} KB of text, {total_ms / total_kb:.2f} CPU ms/KB")
    print(
        f"dense:     one page, {text_kb(dense):,.1f} KB of text, {cpu_ms(dense, pack) / text_kb(dense):.2f} CPU ms/KB"
    )


if __name__ == "__main__":
    main()
