"""robots.txt compliance (parsed by protego), fetched through the run's fetcher so it is recorded.

What counts as "no robots.txt", i.e. everything allowed:
  - any fetch error (timeout, refused, blocked, not in the archive), or no answer within ROBOTS_DEADLINE;
  - any status other than 2xx after redirects, including 401/403 and 5xx. RFC 9309 asks crawlers
    to treat 5xx as "disallow everything"; rxcheck fetches a handful of pages per site for a
    legitimacy check, and a site must not be able to make itself uncheckable by erroring;
  - a body that is not plain text (e.g. an HTML "soft 404" page served with status 200).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import httpx
from protego import Protego

from rxcheck.errors import RxcheckError
from rxcheck.fetch import Fetcher

_ROBOTS_TYPES = ("", "text/plain")
ROBOTS_DEADLINE = 5.0  # seconds for robots.txt, redirects included: a site that cannot answer it has none


class RobotsPolicy:
    def __init__(
        self,
        fetcher: Fetcher,
        user_agent_token: str = "rxcheck",
        *,
        cache_size: int = 1024,
        deadline: float = ROBOTS_DEADLINE,
    ) -> None:
        self.fetcher = fetcher
        self.deadline = deadline
        self.user_agent_token = user_agent_token
        self._cache_size = cache_size
        # origin -> the task loading its rules; concurrent callers await the same task.
        self._cache: OrderedDict[str, asyncio.Task[Protego | None]] = OrderedDict()

    async def allowed(self, url: str) -> bool:
        """May `url` be fetched under its site's robots.txt?"""
        rules = await self.rules(url)
        return rules is None or rules.can_fetch(url, self.user_agent_token)

    async def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay (seconds) the site asks of us, if any."""
        rules = await self.rules(url)
        return None if rules is None else rules.crawl_delay(self.user_agent_token)

    async def rules(self, url: str) -> Protego | None:
        """The parsed robots.txt of `url`'s origin, or None when it has none (everything allowed)."""
        origin = _origin(url)
        if origin is None:
            return None
        task = self._cache.get(origin)
        if task is None:
            task = asyncio.ensure_future(self._load(origin))
            self._cache[origin] = task
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(origin)
        try:
            # shield: a caller cancelled while waiting must not cancel the load other callers share;
            # `aclose` cancels the loads themselves when the check that owns this policy ends.
            return await asyncio.shield(task)
        except Exception:
            if self._cache.get(origin) is task:
                del self._cache[origin]  # do not cache an unexpected failure
            raise

    async def aclose(self) -> None:
        """Cancel every robots.txt load still running (the check's deadline passed, or it ended)."""
        pending = [task for task in self._cache.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._cache.clear()

    async def _load(self, origin: str) -> Protego | None:
        try:
            async with asyncio.timeout(self.deadline):
                result = await self.fetcher.fetch(f"{origin}/robots.txt")
        except (RxcheckError, TimeoutError):
            return None
        if not 200 <= result.status < 300 or result.content_type not in _ROBOTS_TYPES:
            return None
        return Protego.parse(result.body.decode("utf-8-sig", errors="replace"))


def _origin(url: str) -> str | None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    default = {"http": 80, "https": 443}[parsed.scheme]
    port = "" if parsed.port in (None, default) else f":{parsed.port}"
    host = parsed.raw_host.decode("ascii")
    return f"{parsed.scheme}://{f'[{host}]' if ':' in host else host}{port}"
