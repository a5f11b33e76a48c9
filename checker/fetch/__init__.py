"""Fetching pages: live over HTTP (`LiveFetcher`) or replayed from a WARC archive (`ArchiveFetcher`).

Both follow redirects themselves and return every hop, so a run can be recorded into a WARC
(`RecordingFetcher`) and replayed later with the same result.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from rxcheck.errors import BlockedAddress, FetchError, ProtocolFailed, RedirectLoop, TooManyRedirects


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response (one hop of a redirect chain)."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    truncated: bool = False  # the body was cut at the size limit: `body` is only its beginning

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True)
class FetchResult:
    """What fetching one URL produced: every hop, the last one being the final response."""

    url: str
    exchanges: tuple[Exchange, ...]
    truncated: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def final(self) -> Exchange:
        return self.exchanges[-1]

    @property
    def final_url(self) -> str:
        return self.final.url

    @property
    def status(self) -> int:
        return self.final.status

    @property
    def body(self) -> bytes:
        return self.final.body

    @property
    def content_type(self) -> str:
        return (self.final.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def redirect_chain(self) -> list[str]:
        return [hop.url for hop in self.exchanges]


class Fetcher(Protocol):
    """Anything that can fetch a URL, following redirects. Raises `rxcheck.errors.FetchError`."""

    async def fetch(self, url: str) -> FetchResult: ...

    async def aclose(self) -> None: ...


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# An HTML page whose <meta http-equiv="refresh"> sends the browser elsewhere within seconds is a redirect too: the
# doorway pages of pharmacy spam use it. Only the head of the page is read, and a long delay is a reload timer.
MAX_REFRESH_DELAY_S = 10
REFRESH_SCAN_BYTES = 32_768
META_REFRESH = re.compile(rb"<meta\b[^>]{0,500}?http-equiv\s*=\s*[\"']?refresh\b[^>]{0,1000}>", re.IGNORECASE)
CONTENT_ATTRIBUTE = re.compile(rb"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)
REFRESH_CONTENT = re.compile(r"\s*(\d{1,6})(?:\.\d*)?\s*(?:[;,]\s*(?:url\s*=\s*)?['\"]?([^'\"]*))?", re.IGNORECASE)


@dataclass(frozen=True)
class PartialFetch:
    """What a failed fetch had received before it failed (attached to the exception as `partial`).

    `failed_url` is the URL whose request failed (timeout, refused, not in the archive), or None when
    the failure was a decision about a received hop (too many redirects, redirect to another scheme).
    """

    url: str
    exchanges: tuple[Exchange, ...]
    failed_url: str | None = None


def partial_fetch(exc: BaseException) -> PartialFetch | None:
    """The hops a failed fetch received before `exc` was raised, if any were recorded on it."""
    partial = getattr(exc, "partial", None)
    return partial if isinstance(partial, PartialFetch) else None


def redirect_target(hop: Exchange) -> str | None:
    """The absolute URL `hop` redirects to, or None when it is not a redirect.

    Raises ProtocolFailed for a malformed Location, BlockedAddress for another scheme than http/https.
    """
    if hop.status not in REDIRECT_STATUSES:
        return refresh_target(hop)
    location = (hop.header("location") or "").strip()
    if not location:
        return None
    try:
        target = httpx.URL(hop.url).join(location)
    except httpx.InvalidURL:
        raise ProtocolFailed(f"invalid redirect from {hop.url} to {location[:200]!r}") from None
    if target.scheme not in ("http", "https"):
        raise BlockedAddress(f"refused redirect from {hop.url} to {target}: only http and https are followed")
    return str(target.copy_with(fragment=None))


def refresh_target(hop: Exchange) -> str | None:
    """Where an HTML page's meta refresh sends the browser within `MAX_REFRESH_DELAY_S`, or None (no refresh, a
    reload of the same page, a long timer, or a target that is not http(s))."""
    if not 200 <= hop.status < 300 or "html" not in (hop.header("content-type") or "").lower():
        return None
    tag = META_REFRESH.search(hop.body[:REFRESH_SCAN_BYTES])
    content = CONTENT_ATTRIBUTE.search(tag.group()) if tag else None
    if content is None:
        return None
    raw = next(group for group in content.groups() if group is not None).decode("utf-8", "replace")
    value = REFRESH_CONTENT.match(raw)
    if value is None or int(value.group(1)) > MAX_REFRESH_DELAY_S or not (value.group(2) or "").strip():
        return None
    try:
        target = httpx.URL(hop.url).join(value.group(2).strip()).copy_with(fragment=None)
    except httpx.InvalidURL:
        return None
    if target.scheme not in ("http", "https") or str(target) == hop.url:
        return None
    return str(target)


def _stay(url: str, exchanges: list[Exchange], target: str, exc: FetchError) -> FetchResult:
    note = f"its meta refresh to {target} was not followed: {exc}"
    return FetchResult(url, tuple(exchanges), truncated=any(h.truncated for h in exchanges), notes=(note,))


async def follow_redirects(
    url: str,
    fetch_hop: Callable[[str], Awaitable[Exchange]],
    *,
    max_redirects: int,
    check_target: Callable[[str], Awaitable[str]] | None = None,
) -> FetchResult:
    """Fetch `url` with `fetch_hop`, following redirects; the loop shared by live and replayed fetches.

    `check_target` vets (and may normalise) each redirect target before it is fetched. Any
    `FetchError` raised on the way carries the hops received so far (see `partial_fetch`).
    """
    exchanges: list[Exchange] = []
    visited = Counter({url: 1})
    current = url
    while True:
        try:
            hop = await fetch_hop(current)
        except FetchError as exc:
            exc.partial = PartialFetch(url, tuple(exchanges), failed_url=current)  # type: ignore[attr-defined]
            raise
        exchanges.append(hop)
        refresh = hop.status not in REDIRECT_STATUSES  # a page's meta refresh, not an HTTP redirect
        target = None
        try:
            target = redirect_target(hop)
            if target is None:
                return FetchResult(url, tuple(exchanges), truncated=any(h.truncated for h in exchanges))
            if visited[target] >= 2:  # one return is allowed: `/` -> `/set-cookie` -> `/` is no loop
                raise RedirectLoop(f"redirect loop: {hop.url} leads back to {target}")
            if len(exchanges) > max_redirects:
                raise TooManyRedirects(f"too many redirects (>{max_redirects}) from {url}")
        except FetchError as exc:
            if refresh and target is not None:  # the page itself is what a browser would go on showing
                return _stay(url, exchanges, target, exc)
            exc.partial = PartialFetch(url, tuple(exchanges))  # type: ignore[attr-defined]
            raise
        if check_target is not None:
            try:
                target = await check_target(target)
            except FetchError as exc:
                if refresh:  # a refresh a browser could not follow leaves the page shown
                    return _stay(url, exchanges, target, exc)
                exc.partial = PartialFetch(url, tuple(exchanges), failed_url=target)  # type: ignore[attr-defined]
                raise
        visited[target] += 1
        if refresh:
            try:
                followed = await follow_redirects(
                    target, fetch_hop, max_redirects=max_redirects - len(exchanges), check_target=check_target
                )
            except FetchError as exc:
                return _stay(url, exchanges, target, exc)
            return FetchResult(url, (*exchanges, *followed.exchanges), truncated=followed.truncated or hop.truncated)
        current = target
