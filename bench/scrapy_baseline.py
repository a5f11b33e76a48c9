"""The Scrapy baseline: fetch and extract text only, on the same start URLs as rxcheck.

    http_proxy=http://127.0.0.1:PORT python -m bench.scrapy_baseline urls.txt [--max-pages 12]

Same-host links only, at most `--max-pages` pages per start URL (rxcheck's default cap, 12), robots.txt obeyed,
2 requests at a time per host, a high global concurrency, no cache, no throttling, logs off. Each HTML page's
visible text is extracted with `//body//text()` (lxml through parsel). The proxy comes from the `http_proxy`
environment variable (Scrapy's HttpProxyMiddleware). Prints one JSON line: pages, text characters, seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import HtmlResponse

USER_AGENT = "bench-scrapy/1.0"
SETTINGS = {
    "ROBOTSTXT_OBEY": True,
    "CONCURRENT_REQUESTS": 256,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "HTTPCACHE_ENABLED": False,
    "LOG_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,  # Scrapy >= 2.19 opens a control port by default
    "COOKIES_ENABLED": False,
    "RETRY_ENABLED": False,
    "USER_AGENT": USER_AGENT,
    "DEPTH_PRIORITY": 1,  # breadth first, as rxcheck's crawl
    "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
    "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
}


class TextSpider(scrapy.Spider):
    name = "bench"

    def __init__(self, urls: list[str], max_pages: int, stats: dict, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.urls, self.max_pages, self.stats = urls, max_pages, stats
        self.budget: dict[str, int] = {}  # start URL -> requests it may still schedule
        self.seen: set[str] = set()

    async def start(self):
        for url in self.urls:
            self.budget[url] = self.max_pages - 1
            self.seen.add(url)
            yield scrapy.Request(url, callback=self.parse, cb_kwargs={"start": url})

    def parse(self, response, start: str):
        if not isinstance(response, HtmlResponse):
            return
        text = " ".join(response.xpath("//body//text()").getall())
        self.stats["pages"] += 1
        self.stats["text_chars"] += len(text)
        host = urlsplit(response.url).hostname
        for href in response.xpath("//a/@href").getall():
            if self.budget[start] <= 0:
                return
            url = urldefrag(response.urljoin(href))[0]
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.hostname != host or url in self.seen:
                continue
            self.seen.add(url)
            self.budget[start] -= 1
            yield scrapy.Request(url, callback=self.parse, cb_kwargs={"start": start})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", type=Path)
    parser.add_argument("--max-pages", type=int, default=12)
    args = parser.parse_args()
    urls = [line.strip() for line in args.urls.read_text().splitlines() if line.strip()]
    stats = {"pages": 0, "text_chars": 0}
    process = CrawlerProcess(SETTINGS)
    process.crawl(TextSpider, urls=urls, max_pages=args.max_pages, stats=stats)
    started = time.monotonic()
    process.start()
    print(json.dumps({**stats, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    main()
