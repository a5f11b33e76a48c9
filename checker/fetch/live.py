"""Fetching over HTTP with httpx: redirects followed by hand, every fetch under a deadline, bodies capped while
they stream (after decompression), errors typed and made one line."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import re
import socket
import ssl
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from rxcheck.discover import registrable_domain
from rxcheck.errors import (
    BlockedAddress,
    ConnectFailed,
    DNSError,
    FetchError,
    FetchTimeout,
    InvalidURL,
    ProtocolFailed,
    TLSFailed,
    TooLarge,
)
from rxcheck.fetch import Exchange, FetchResult, PartialFetch, follow_redirects
from rxcheck.fetch.guard import (
    DEFAULT_POOL_LIMITS,
    GuardedTransport,
    UnresolvableHost,
    check_url,
    effective_ports,
    fetch_scope,
    ip_literal,
    is_public_ip,
    name_refusal,
    public_only,
    resolve_checked,
)
from rxcheck.fetch.limits import DEFAULT_LIMITS, FetchLimits
from rxcheck.fetch.slots import KeyedSlots

log = logging.getLogger(__name__)

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_ENCODING = "gzip, deflate"  # the encodings `_Decoder` inflates with a bounded output
RETRY_STATUSES = frozenset({429, 503})


class LiveFetcher:
    """Fetches URLs over the network, guarded against server-side request forgery.

    Direct connections go through `GuardedTransport` (address checked at connect time). Requests
    through a proxy (`proxy`, or HTTP(S)_PROXY/ALL_PROXY from the environment) cannot be checked at
    connect time since the proxy resolves the name; every hop's host is resolved and checked just
    before it is handed to the proxy instead, and a name that does not resolve is refused unless
    `proxy_resolves_names` says the proxy may resolve names this machine cannot (then only names
    outside the deny-list of `rxcheck.fetch.ranges` pass). A `transport` given explicitly (tests) is
    used as it is, without the connect-time check.
    """

    def __init__(
        self,
        *,
        limits: FetchLimits = DEFAULT_LIMITS,
        proxy: str | None = None,
        ca_bundle: str | None = None,
        allow_private: bool = False,
        proxy_resolves_names: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = limits
        self._allow_private = allow_private
        self._ports = effective_ports(limits.ports, allow_private=allow_private)
        self._proxied = proxy is not None or (transport is None and _environment_has_proxy())
        self._proxy_resolves_names = proxy_resolves_names
        self._sites = KeyedSlots(limits.per_host_concurrency)  # no site can take the connections of others
        self._client = _GuardedClient(
            allow_private=allow_private,
            proxy=proxy,
            # one context for every transport: from `True` httpx builds one per transport (three here, each
            # loading the CA bundle: 30 ms of CPU each)
            verify=_ssl_context(ca_bundle) if ca_bundle else httpx.create_ssl_context(),
            trust_env=True,
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=min(20, limits.max_connections),
            ),
            timeout=httpx.Timeout(
                connect=limits.connect_timeout,
                read=limits.read_timeout,
                write=limits.read_timeout,
                pool=None,  # waiting for a free pooled connection is bounded by the page deadline
            ),
            headers={"User-Agent": limits.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
        )

    async def fetch(self, url: str) -> FetchResult:
        """GET `url`, following up to `max_redirects` redirects, each hop recorded, within `page_deadline`.

        Raises InvalidURL / BlockedAddress for a refused URL, or another FetchError (typed: timeout,
        dns_error, connect_error, tls_error, protocol_error, too_large, redirect_loop, ...).
        """
        start = check_url(url, allow_private=self._allow_private, ports=self._ports)
        scope = _Scope(start, asyncio.get_running_loop().time() + self.limits.page_deadline)
        try:
            with fetch_scope():
                async with asyncio.timeout(self.limits.page_deadline):
                    return await follow_redirects(
                        start,
                        lambda hop_url: self._fetch_hop(hop_url, scope),
                        max_redirects=self.limits.max_redirects,
                        check_target=lambda target: self._check_target(target, scope),
                    )
        except TimeoutError:
            error = FetchTimeout(
                f"no complete answer from {httpx.URL(scope.current).host} within {self.limits.page_deadline:g} s"
            )
            error.partial = PartialFetch(start, tuple(scope.exchanges), failed_url=scope.current)  # type: ignore[attr-defined]
            raise error from None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> LiveFetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _check_target(self, url: str, scope: _Scope) -> str:
        try:
            target = check_url(url, allow_private=self._allow_private, ports=self._ports)
        except InvalidURL as exc:
            raise ProtocolFailed(f"refused redirect: {exc}") from None
        if self._allow_private and not scope.public:
            # With private addresses allowed, a redirect still may not lead from a public address to a private one.
            scope.public = await _is_public_host(httpx.URL(scope.current))
        if scope.public:
            public_only()  # the connect-time check (GuardedBackend) now refuses private addresses too
        return target

    async def _fetch_hop(self, url: str, scope: _Scope) -> Exchange:
        """One hop, retried after a 429 or 503 (a bounded number of times, never waiting long)."""
        scope.current = url
        loop = asyncio.get_running_loop()
        for attempt in range(self.limits.max_retries + 1):
            hop = await self._request(url)
            if hop.status not in RETRY_STATUSES or attempt == self.limits.max_retries:
                break
            wait = min(_retry_after(hop) or 0.5 * 2**attempt, self.limits.max_retry_wait)
            if loop.time() + 2 * wait > scope.deadline:
                break  # no time left for another answer: the one received stands
            await asyncio.sleep(wait)
        scope.exchanges.append(hop)
        return hop

    async def _request(self, url: str) -> Exchange:
        parsed = httpx.URL(url)
        host = parsed.host
        if self._proxied:
            await self._check_proxied_host(parsed)
        async with self._sites.hold(_slot_key(parsed)):
            try:
                async with self._client.stream("GET", url) as response:
                    body = await self._read_body(response, host)
            except httpx.RequestError as exc:
                raise self._error(exc, url) from None
            except (FetchError, InvalidURL):
                raise
            except Exception as exc:  # a hostile server must not surface httpcore or h11 internals
                log.debug("fetching %s failed inside the HTTP stack", url, exc_info=True)
                raise ProtocolFailed(f"{host} broke off the answer ({type(exc).__name__})") from None
        encoding = response.headers.encoding
        headers = tuple((k.decode(encoding), v.decode(encoding)) for k, v in response.headers.raw)
        return Exchange(url, response.status_code, headers, body)

    async def _check_proxied_host(self, url: httpx.URL) -> None:
        """Before a hop is handed to the proxy, its name must resolve here to allowed addresses."""
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            await resolve_checked(url.host, port, allow_private=self._allow_private)
        except UnresolvableHost:
            reason = name_refusal(url.host)
            if not self._proxy_resolves_names:
                raise BlockedAddress(
                    f"refused {url.host}: it does not resolve here, and a name is checked before it goes to the proxy"
                ) from None
            if reason:
                raise BlockedAddress(f"refused {url.host}: it is {reason}") from None

    async def _read_body(self, response: httpx.Response, host: str) -> bytes:
        """The decoded body; TooLarge as soon as it passes max_body_bytes, decompressed or not."""
        limit = self.limits.max_body_bytes
        decoder = _Decoder(response.headers.get("content-encoding", ""), limit)
        declared = response.headers.get("content-length", "")
        if not decoder.compressed and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"{host} sent a body of {int(declared):,} bytes (the limit is {limit:,})")
        async with contextlib.aclosing(response.aiter_raw()) as chunks:
            async for chunk in chunks:
                if not decoder.feed(chunk):
                    raise TooLarge(f"{host} sent a body larger than {limit:,} bytes once decompressed")
        if not decoder.finish():
            raise TooLarge(f"{host} sent a body larger than {limit:,} bytes once decompressed")
        return bytes(decoder.body)

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
            return ConnectFailed(f"proxy error while fetching {url}: {reason}")
        if isinstance(exc, httpx.ConnectError):
            if _caused_by(exc, socket.gaierror):
                return DNSError(f"could not resolve {host}: {reason}")
            if _caused_by(exc, ssl.SSLError, ssl.CertificateError) or str(exc).startswith("[SSL"):
                return TLSFailed(f"could not connect to {host}: {reason}")
            return ConnectFailed(f"could not connect to {host}: {reason}")
        if isinstance(exc, httpx.RemoteProtocolError) and _HEADERS_TOO_LONG.search(str(exc)):
            return TooLarge(f"{host} sent more headers than rxcheck accepts")
        if isinstance(exc, httpx.ReadError | httpx.WriteError):
            os_error = _os_error(exc)
            return ProtocolFailed(f"{host} broke off the connection" + (f": {os_error}" if os_error else ""))
        if isinstance(exc, httpx.ProtocolError | httpx.DecodingError):
            return ProtocolFailed(f"{host} sent a broken HTTP response: {_REMOTE_BYTES.sub('', reason)[:120]}")
        return ProtocolFailed(f"could not fetch {url}: {reason}")


@dataclass
class _Scope:
    """One fetch in progress: the hop being fetched, the hops received, whether a public address was reached."""

    current: str
    deadline: float  # event-loop time at which the page deadline passes
    exchanges: list[Exchange] = field(default_factory=list)
    public: bool = False


class _Decoder:
    """Inflates a gzip or deflate body as it streams, never holding more than `limit` + 1 decoded bytes."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise ProtocolFailed(f"unsupported content encoding {content_encoding[:40]!r}")
        self.compressed = bool(codings)
        self._deflate = codings == ["deflate"]
        self._inflater: Any = zlib.decompressobj(zlib.MAX_WBITS | 16) if self.compressed else None
        self._limit = limit
        self.body = bytearray()

    def feed(self, data: bytes) -> bool:
        """Add received bytes; False once the decoded body passes the limit."""
        if self._inflater is None:
            self.body += data
            return len(self.body) <= self._limit
        if self._deflate and not self.body and self._inflater.unused_data == b"":
            self._inflater = _deflate_inflater(data)
            self._deflate = False
        try:
            while data and not self._inflater.eof:
                out = self._inflater.decompress(data, self._limit - len(self.body) + 1)
                self.body += out
                if len(self.body) > self._limit:
                    return False
                data = self._inflater.unconsumed_tail
                if not out and data:  # pragma: no cover - zlib made no progress
                    break
        except zlib.error:
            raise ProtocolFailed("the compressed body is corrupt") from None
        return True

    def finish(self) -> bool:
        if self._inflater is not None and not self._inflater.eof:
            with contextlib.suppress(zlib.error):
                self.body += self._inflater.flush(self._limit - len(self.body) + 1)
        return len(self.body) <= self._limit


def _deflate_inflater(first: bytes) -> Any:
    """`deflate` is zlib-wrapped by the RFC and raw by some servers: tell them apart by the first bytes."""
    try:
        zlib.decompressobj().decompress(first[:2])
        return zlib.decompressobj()
    except zlib.error:
        return zlib.decompressobj(-zlib.MAX_WBITS)


class _GuardedClient(httpx.AsyncClient):
    """An AsyncClient whose direct transport is a GuardedTransport.

    Overriding the transport factory (rather than passing `transport=`) keeps httpx's own handling
    of environment proxies and NO_PROXY, which httpx turns off whenever a transport is passed.
    """

    def __init__(self, *, allow_private: bool, **kwargs: Any) -> None:
        self._allow_private = allow_private
        super().__init__(**kwargs)

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
        return GuardedTransport(
            verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits,
            allow_private=self._allow_private,
        )  # fmt: skip


def _slot_key(url: httpx.URL) -> str:
    """Connections are capped per site: its registrable domain (or IP address) and port."""
    host = url.host
    site = host if ip_literal(host) is not None else registrable_domain(str(url)) or host
    return f"{site}:{url.port or (443 if url.scheme == 'https' else 80)}"


async def _is_public_host(url: httpx.URL) -> bool:
    """True when the host of `url` resolves only to public addresses (a name that does not resolve is not)."""
    try:
        addresses = await resolve_checked(url.host, url.port or 80, allow_private=True)
    except FetchError:
        return False
    return all(is_public_ip(address.split("%", 1)[0]) for address in addresses)


def _retry_after(hop: Exchange) -> float | None:
    """Seconds the server asks us to wait (`Retry-After`: seconds or an HTTP date), if it says."""
    value = (hop.header("retry-after") or "").strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _os_error(exc: BaseException) -> str | None:
    """The operating system's reason ("connection reset by peer") behind `exc`, if one caused it."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            return None
        if isinstance(current, OSError) and current.strerror:
            return current.strerror[0].lower() + current.strerror[1:]
        current = current.__cause__ or current.__context__
    return None


def _caused_by(exc: BaseException, *types: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise FetchError(f"cannot use the CA bundle {ca_bundle}: {_reason(exc)}") from None


def _environment_has_proxy() -> bool:
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


_HEADERS_TOO_LONG = re.compile(r"(?i)too (?:long|large|big)|exceed|maximum")
_REMOTE_BYTES = re.compile(r":?\s*(?:bytearray\()?b?['\"].*$")  # h11 quotes what the server sent: not shown
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
