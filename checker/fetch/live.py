"""Fetching over HTTP with httpx: redirects followed by hand, bodies capped, errors made one line."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from checker.errors import FetchError, FetchTimeout, InvalidURL
from checker.fetch import Exchange, FetchResult, follow_redirects
from checker.fetch.guard import (
    DEFAULT_POOL_LIMITS,
    GuardedTransport,
    UnresolvableHost,
    check_url,
    resolve_checked,
)
from checker.fetch.limits import DEFAULT_LIMITS, FetchLimits

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class LiveFetcher:
    """Fetches URLs over the network, guarded against server-side request forgery.

    Direct connections go through `GuardedTransport` (address checked at connect time). Requests
    through a proxy (`proxy`, or HTTP(S)_PROXY/ALL_PROXY from the environment) cannot be checked at
    connect time since the proxy resolves the name; their hosts are resolved and checked just before
    the request instead (best effort: a rebinding name can still fool that). A `transport` given
    explicitly (tests) is used as it is, without the connect-time check.
    """

    def __init__(
        self,
        *,
        limits: FetchLimits = DEFAULT_LIMITS,
        proxy: str | None = None,
        ca_bundle: str | None = None,
        allow_private: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = limits
        self._allow_private = allow_private
        self._proxied = proxy is not None or (transport is None and _environment_has_proxy())
        self._slots: dict[str, _HostSlot] = {}
        client_class = httpx.AsyncClient if allow_private else _GuardedClient
        self._client = client_class(
            proxy=proxy,
            verify=_ssl_context(ca_bundle) if ca_bundle else True,
            trust_env=True,
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=limits.connect_timeout,
                read=limits.read_timeout,
                write=limits.read_timeout,
                pool=None,  # waiting for a free pooled connection is bounded by the site deadline
            ),
            headers={"User-Agent": limits.user_agent, "Accept": ACCEPT},
        )

    async def fetch(self, url: str) -> FetchResult:
        """GET `url`, following up to `max_redirects` redirects, each hop recorded.

        Raises InvalidURL / BlockedAddress for a refused URL, FetchTimeout, or FetchError.
        """
        start = check_url(url, allow_private=self._allow_private)
        return await follow_redirects(
            start, self._fetch_hop, max_redirects=self.limits.max_redirects, check_target=self._check_target
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> LiveFetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _check_target(self, url: str) -> str:
        try:
            return check_url(url, allow_private=self._allow_private)
        except InvalidURL as exc:
            raise FetchError(f"refused redirect: {exc}") from None

    async def _fetch_hop(self, url: str) -> Exchange:
        parsed = httpx.URL(url)
        host = parsed.host
        if self._proxied and not self._allow_private:
            with contextlib.suppress(UnresolvableHost):  # the proxy may resolve names we cannot
                await resolve_checked(host, parsed.port or (443 if parsed.scheme == "https" else 80))
        async with self._host_slot(host):
            try:
                async with self._client.stream("GET", url) as response:
                    body, truncated = await self._read_body(response)
            except httpx.RequestError as exc:
                raise self._error(exc, url) from exc
        encoding = response.headers.encoding
        headers = tuple((k.decode(encoding), v.decode(encoding)) for k, v in response.headers.raw)
        return Exchange(url, response.status_code, headers, body, truncated)

    async def _read_body(self, response: httpx.Response) -> tuple[bytes, bool]:
        """The (decoded) body, cut at max_body_bytes; True when it was cut."""
        limit = self.limits.max_body_bytes
        body = bytearray()
        async with contextlib.aclosing(response.aiter_bytes()) as chunks:
            async for chunk in chunks:
                room = limit - len(body)
                if len(chunk) > room:
                    body += chunk[:room]
                    return bytes(body), True
                body += chunk
        return bytes(body), False

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's `per_host_concurrency` slots.

        A host's semaphore lives only while someone uses or waits for it, so memory follows the
        number of hosts in flight, not the number of hosts ever fetched.
        """
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = _HostSlot(asyncio.Semaphore(self.limits.per_host_concurrency))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[host]

    def _error(self, exc: httpx.RequestError, url: str) -> FetchError:
        host = httpx.URL(url).host
        reason = _reason(exc)
        if isinstance(exc, httpx.ConnectTimeout):
            return FetchTimeout(f"timed out connecting to {host} (after {self.limits.connect_timeout:g}s)")
        if isinstance(exc, httpx.ReadTimeout):
            return FetchTimeout(f"timed out waiting for {host} to respond (after {self.limits.read_timeout:g}s)")
        if isinstance(exc, httpx.TimeoutException):
            return FetchTimeout(f"timed out fetching {url}")
        if isinstance(exc, httpx.ProxyError):
            return FetchError(f"proxy error while fetching {url}: {reason}")
        if isinstance(exc, httpx.ConnectError):
            return FetchError(f"could not connect to {host}: {reason}")
        if isinstance(exc, httpx.RemoteProtocolError):
            return FetchError(f"{host} sent a broken HTTP response: {reason}")
        if isinstance(exc, httpx.DecodingError):
            return FetchError(f"could not decode the response from {host}: {reason}")
        return FetchError(f"could not fetch {url}: {reason}")


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = field(default=0)


class _GuardedClient(httpx.AsyncClient):
    """An AsyncClient whose direct transport is a GuardedTransport.

    Overriding the transport factory (rather than passing `transport=`) keeps httpx's own handling
    of environment proxies and NO_PROXY, which httpx turns off whenever a transport is passed.
    """

    def _init_transport(
        self,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = DEFAULT_POOL_LIMITS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        return GuardedTransport(verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits)


def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise FetchError(f"cannot use the CA bundle {ca_bundle}: {_reason(exc)}") from None


def _environment_has_proxy() -> bool:
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


_NOISE = re.compile(r"^\[(?:Errno [-\d]+|SSL: [A-Z_]+)\]\s*|\s*\(_ssl\.c:\d+\)$")


def _reason(exc: BaseException) -> str:
    """A short, one-line reason: "connection refused" rather than "[Errno 111] Connection refused"."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not text and exc.__context__ is not None:
        return _reason(exc.__context__)
    text = _NOISE.sub("", _NOISE.sub("", text)).strip()
    if not text:
        return type(exc).__name__
    return text[0].lower() + text[1:]
