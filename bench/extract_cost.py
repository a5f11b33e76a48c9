"""CPU milliseconds per KB of page text spent extracting facts: realistic fixture sites and a dense worst case.

    python -m bench.extract_cost [--json]

Replays the fixture WARC once, then times `extract_facts` (process CPU time, best of 3) on each fixture site and on a
synthetic category page of 300 dense product rows (`bench.farm.dense_rows`, the farm's dense site) and on one of
1,200 rows (linear cost keeps the ms per KB the same). Moved here from the test suite, which asserts no timing.
`python -m bench` prints these figures too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from bench.farm import dense_rows
from rxcheck.engine.loader import load_pack
from rxcheck.facts.extract import extract_facts
from rxcheck.fetch.archive import ArchiveFetcher
from rxcheck.parse import parse_html
from rxcheck.pipeline import Checker
from rxcheck.snapshot import Page, Site

ROOT = Path(__file__).resolve().parent.parent
DENSE_ROWS = 300


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
    from rxcheck.crawl import Crawler

    urls = [line.strip() for line in (ROOT / "fixtures" / "urls.txt").read_text().splitlines() if line.strip()]
    async with ArchiveFetcher(ROOT / "fixtures" / "sites.warc.gz") as fetcher:
        crawler = Crawler(fetcher, checker.pack.roles, checker.settings)
        return [await crawler.crawl(url, url) for url in urls]


def measure() -> dict:
    """CPU ms per KB of text for the realistic fixture sites and for the dense page, with their sizes."""
    pack = load_pack()
    sites = asyncio.run(fixture_sites(Checker(pack=pack)))
    total_ms = sum(cpu_ms(site, pack) for site in sites)
    total_kb = sum(text_kb(site) for site in sites)
    dense, dense_4x = dense_site(DENSE_ROWS), dense_site(4 * DENSE_ROWS)
    return {
        "realistic_sites": len(sites),
        "realistic_kb": total_kb,
        "realistic_ms_per_kb": total_ms / total_kb,
        "dense_kb": text_kb(dense),
        "dense_ms_per_kb": cpu_ms(dense, pack) / text_kb(dense),
        "dense_4x_kb": text_kb(dense_4x),  # linear cost keeps ms/KB the same on a page 4 times larger
        "dense_4x_ms_per_kb": cpu_ms(dense_4x, pack) / text_kb(dense_4x),
    }


def dense_site(rows: int) -> Site:
    html = f"<html><body>{dense_rows(rows)}</body></html>".encode()
    page = Page(url="https://shop.example/", final_url="https://shop.example/", status=200, headers={},
                content_type="text/html", role="category", redirects=[],
                doc=parse_html(html, "https://shop.example/"))  # fmt: skip
    return Site(url=page.url, start_url=page.url, pages=[page])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    as_json = parser.parse_args().json
    figures = measure()
    if as_json:
        print(json.dumps(figures))
        return
    print(f"realistic: {figures['realistic_sites']} fixture sites, {figures['realistic_kb']:,.0f} KB of text, "
          f"{figures['realistic_ms_per_kb']:.2f} CPU ms/KB")  # fmt: skip
    print(f"dense:     one page, {figures['dense_kb']:,.1f} KB of text, {figures['dense_ms_per_kb']:.2f} CPU ms/KB")
    print(f"dense x4:  one page, {figures['dense_4x_kb']:,.1f} KB of text, "
          f"{figures['dense_4x_ms_per_kb']:.2f} CPU ms/KB")  # fmt: skip


if __name__ == "__main__":
    main()
