"""Getting a verdict for a URL: guard, cache, one shared crawl per site, deadline.

`VerdictService.lookup` is what `/v1/verdict` calls; `VerdictService.result_for` is what audits call (it
turns every refusal or failure into an `unreachable` Result instead of raising).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

from rxcheck.api.cache import CachedVerdict, CacheKey, VerdictCache
from rxcheck.api.guard import resolved_target, static_target
from rxcheck.api.singleflight import SingleFlight
from rxcheck.errors import BlockedAddress, FetchTimeout, RxcheckError
from rxcheck.fetch import Fetcher
from rxcheck.fetch.guard import DEFAULT_PORTS
from rxcheck.fetch.slots import KeyedSlots
from rxcheck.result import ErrorInfo, Result, asked_source
from rxcheck.urls import site_key
from rxcheck.verdict import UNREACHABLE_SCORE

log = logging.getLogger("rxcheck.api")


class SiteChecker(Protocol):
    """What the API needs of `rxcheck.pipeline.Checker`."""

    async def check(self, url: str, fetcher: Fetcher, *, jurisdiction: str = "auto") -> Result: ...


@dataclass(frozen=True)
class Lookup:
    entry: CachedVerdict
    url: str  # the normalised URL asked for
    hit: bool
    age_s: int

    @property
    def max_age_s(self) -> int:
        return self.entry.max_age_s

    @property
    def result(self) -> Result:
        return _as_asked(self.entry.result, self.url)

    def response_json(self) -> bytes:
        """The body of `GET /v1/verdict`'s answer."""
        return self.entry.response_json(self.url, hit=self.hit, age_s=self.age_s)


class VerdictService:
    def __init__(
        self,
        *,
        checker: SiteChecker,
        fetcher: Fetcher,
        cache: VerdictCache,
        rules_version: str,
        deadline_s: float,
        resolve_hosts: bool,
        allow_private: bool,
        ports: frozenset[int] | None = DEFAULT_PORTS,
        checks_per_client: int = 4,
    ) -> None:
        self._checker = checker
        self._fetcher = fetcher
        self.cache = cache
        self._flights: SingleFlight[CacheKey, CachedVerdict] = SingleFlight()
        self.rules_version = rules_version
        self.deadline_s = deadline_s
        self.resolve_hosts = resolve_hosts
        self.allow_private = allow_private
        self.ports = ports
        self._clients = KeyedSlots(checks_per_client)  # one client's crawls wait their turn beyond this
        self.crawls = 0  # crawls started since startup

    async def lookup(
        self,
        url: str,
        *,
        jurisdiction: str = "auto",
        fresh: bool = False,
        client: str | None = None,
        before_crawl: Callable[[], None] | None = None,
    ) -> Lookup:
        """The verdict for `url`, from the cache unless `fresh` or missing, else crawled within the deadline.

        A `client` (its address) has at most `checks_per_client` crawls running at once; more wait their turn,
        within the same deadline. Cached answers never wait. `before_crawl` is called when the answer needs a
        crawl, before it starts (the API charges its crawl rate limit there; what it raises propagates).

        Raises `InvalidURL` or `BlockedAddress` for a refused target, `FetchTimeout` past the deadline.
        """
        target = self.target(url)
        key = self.key(target, jurisdiction)
        if not fresh:
            cached = await self.cache.get(key)
            if cached is not None:
                return Lookup(cached, target, True, cached.age_s(self.cache.clock()))
        if before_crawl is not None:
            before_crawl()
        asked_at = self.cache.clock() if fresh else None
        try:
            async with asyncio.timeout(self.deadline_s), self._client_slot(client):
                entry = await self._flights.run(key, lambda: self._crawl(target, key, asked_at))
        except TimeoutError:
            raise FetchTimeout(f"no verdict for {target} within {self.deadline_s:g} s") from None
        return Lookup(entry, target, False, 0)

    def target(self, url: str) -> str:
        """The normalised URL that would be checked for `url`, by the checks made before anything is fetched.

        Raises `InvalidURL` or `BlockedAddress` naming what was refused."""
        return static_target(url, allow_private=self.allow_private, ports=self.ports)

    def key(self, target: str, jurisdiction: str) -> CacheKey:
        """The cache key of a normalised URL (`target`) under `jurisdiction` and this rule pack."""
        return CacheKey(site_key(target), jurisdiction, self.rules_version)

    def cached(self, url: str, jurisdiction: str) -> Lookup | None:
        """The cached answer for `url` if memory holds it (see `VerdictCache.peek`), without awaiting anything;
        None when it needs `lookup` (not in memory, or refused: `lookup` says why)."""
        try:
            target = self.target(url)
        except RxcheckError:
            return None
        entry = self.cache.peek(self.key(target, jurisdiction))
        if entry is None:
            return None
        return Lookup(entry, target, True, entry.age_s(self.cache.clock()))

    async def result_for(self, url: str, *, jurisdiction: str) -> Result:
        """Like `lookup` from the cache, but never raises: refusals and failures become `unreachable`."""
        try:
            return (await self.lookup(url, jurisdiction=jurisdiction)).result
        except RxcheckError as exc:
            error = ErrorInfo(type=exc.type, message=str(exc), status=exc.status)
        except Exception as exc:
            log.exception("checking %s failed", url)
            error = ErrorInfo(type="internal_error", message=f"internal error: {type(exc).__name__}")
        return Result(
            url=url,
            verdict="unreachable",
            risk_score=UNREACHABLE_SCORE,
            jurisdiction=jurisdiction,
            jurisdiction_source=asked_source(jurisdiction),
            rules_version=self.rules_version,
            error=error,
        )

    async def _crawl(self, target: str, key: CacheKey, fresh_after: float | None) -> CachedVerdict:
        """Crawl once across every process sharing the database: under the site's lock, a verdict that another
        process stored meanwhile (newer than `fresh_after`, when the caller asked for a fresh one) is used."""
        async with self.cache.site_lock(key):
            cached = await self.cache.get(key)
            if cached is not None and (fresh_after is None or cached.stored_at >= fresh_after):
                return cached
            self.crawls += 1
            if self.resolve_hosts:
                try:
                    await resolved_target(target, allow_private=self.allow_private)
                except BlockedAddress:
                    raise
                except RxcheckError:
                    pass  # the name does not resolve: the crawl reports the site unreachable
            async with asyncio.timeout(self.deadline_s):
                result = await self._checker.check(target, self._fetcher, jurisdiction=key.jurisdiction)
            return await self.cache.put(key, result)

    def _client_slot(self, client: str | None) -> AbstractAsyncContextManager[None]:
        return self._clients.hold(client) if client is not None else nullcontext()

    async def aclose(self) -> None:
        await self._flights.cancel_all()


def _as_asked(result: Result, url: str) -> Result:
    """A result shared by several URLs of one site (cache, single-flight) shows the URL each one asked for."""
    return result if result.url == url else result.model_copy(update={"url": url})
