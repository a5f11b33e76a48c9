"""Crawling one site: the start page, then the same-site pages most likely to hold evidence, breadth-first."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from rxcheck.discover import Candidate, RoleMatcher, choose_links
from rxcheck.errors import FetchError, FetchTimeout, HTTPStatusError, NoContent, NotHTML, RobotsDisallowed
from rxcheck.fetch import Fetcher
from rxcheck.fetch.robots import RobotsPolicy
from rxcheck.snapshot import Page, Site
from rxcheck.urls import registrable_domain

# How many pages of each role one site may contribute (the home page is always first).
PAGES_PER_ROLE = {"product": 3, "category": 1}
DEFAULT_MAX_PAGES = 12
MIN_WORDS, MIN_LINKS = 15, 3  # below both, a start page is an empty shell


@dataclass(frozen=True)
class CrawlSettings:
    max_pages: int = DEFAULT_MAX_PAGES
    deadline: float = 60.0  # seconds for the whole site
    obey_robots: bool = True


class Crawler:
    def __init__(self, fetcher: Fetcher, matcher: RoleMatcher, settings: CrawlSettings = CrawlSettings()) -> None:
        self.fetcher = fetcher
        self.matcher = matcher
        self.settings = settings
        self.robots = RobotsPolicy(fetcher) if settings.obey_robots else None

    async def crawl(self, url: str, start_url: str) -> Site:
        """Fetch the site. Raises `FetchError` only when the start page itself cannot be had."""
        site = Site(url=url, start_url=start_url)
        try:
            async with asyncio.timeout(self.settings.deadline):
                await self._crawl(site)
        except TimeoutError:
            if not site.pages:
                raise FetchTimeout(f"no answer from {start_url} within {self.settings.deadline:g} s") from None
            site.errors.append((start_url, f"site deadline of {self.settings.deadline:g} s reached; stopped crawling"))
        finally:
            if self.robots is not None:
                await self.robots.aclose()  # nothing this check started outlives it
        return site

    async def _crawl(self, site: Site) -> None:
        start = await self._fetch(site.start_url, self._start_role(site.start_url), first=True)
        if isinstance(start, FetchError):
            raise start
        _check_readable(start)
        site.pages.append(start)
        site_domains = {registrable_domain(site.start_url), registrable_domain(start.final_url)}
        seen = {site.start_url, start.final_url}
        frontier = [start]
        if start.role != "home":  # a deep start (the page a person is on): the home page too, and links from both
            home_url = urlunsplit(urlsplit(start.final_url)._replace(path="/", query="", fragment=""))
            home = await self._fetch(home_url, "home", first=True) if home_url not in seen else None
            if isinstance(home, FetchError):
                site.errors.append((home_url, str(home)))
            elif home is not None:
                seen.add(home.final_url)
                site.pages.append(home)
                if home.doc is not None and home.ok:
                    frontier.append(home)
        while frontier and len(site.pages) < self.settings.max_pages:
            links = [link for page in frontier for link in page.links]
            per_role = {role: PAGES_PER_ROLE.get(role, 1) - _count(site, role) for role in self.matcher.role_names}
            candidates = choose_links(
                links, site_domains=site_domains, seen=seen, matcher=self.matcher, per_role=per_role
            )
            seen.update(c.url for c in candidates)
            candidates = await self._allowed(candidates, site)
            candidates = candidates[: self.settings.max_pages - len(site.pages)]
            if not candidates:
                break
            fetched = await asyncio.gather(*(self._fetch(c.url, c.role) for c in candidates))
            frontier = []
            for candidate, outcome in zip(candidates, fetched, strict=True):
                if isinstance(outcome, FetchError):
                    site.errors.append((candidate.url, str(outcome)))
                    continue
                seen.add(outcome.final_url)
                site.pages.append(outcome)
                if outcome.doc is not None and outcome.ok:
                    frontier.append(outcome)

    async def _allowed(self, candidates: list[Candidate], site: Site) -> list[Candidate]:
        """The candidates robots.txt lets us fetch; the others are noted in `site.errors`."""
        if self.robots is None:
            return candidates
        verdicts = await asyncio.gather(*(self.robots.allowed(c.url) for c in candidates))
        for candidate, allowed in zip(candidates, verdicts, strict=True):
            if not allowed:
                site.errors.append((candidate.url, f"robots.txt disallows {candidate.url}"))
        return [c for c, allowed in zip(candidates, verdicts, strict=True) if allowed]

    def _start_role(self, url: str) -> str:
        """`home` for a site's root; for a deep start URL the role its address names (product, payment...), or
        `start`."""
        if urlsplit(url).path in ("", "/") and not urlsplit(url).query:
            return "home"
        role = self.matcher.role_of(url)[0]
        return role if role != "other" else "start"

    async def _fetch(self, url: str, role: str, *, first: bool = False) -> Page | FetchError:
        """The page, or the error that says why it could not be had. Pages found by discovery were already
        checked against robots.txt; the start and home pages are checked here."""
        if first and self.robots is not None and not await self.robots.allowed(url):
            return RobotsDisallowed(f"robots.txt disallows {url}")
        try:
            result = await self.fetcher.fetch(url)
        except FetchError as exc:
            return exc
        return await asyncio.to_thread(Page.from_fetch, result, role)  # parsing is CPU work: keep the loop free


def _check_readable(home: Page) -> None:
    """A site is judged on what its start page shows: an error page, a file or an empty shell cannot be judged."""
    if not home.ok:
        raise HTTPStatusError(f"{home.final_url} answered HTTP {home.status}", status=home.status)
    if home.doc is None:
        raise NotHTML(f"{home.final_url} is not a web page ({home.content_type or 'no content type'})")
    if len(home.text.split()) < MIN_WORDS and len(home.links) < MIN_LINKS:
        raise NoContent(
            f"{home.final_url} shows no readable content (it may need JavaScript, which rxcheck does not run)"
        )


def _count(site: Site, role: str) -> int:
    return sum(1 for page in site.pages if page.role == role)
