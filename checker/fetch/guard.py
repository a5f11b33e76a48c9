"""Server-side request forgery protection: refuse URLs and addresses rxcheck must never contact.

Three layers. `allow_private=True` (local testing only) lifts the loopback and private ranges, never the others
(link-local, cloud metadata...), and never once a fetch has reached a public address:
  1. `check_url`: static checks on a URL (scheme, length, host name, IP literals in every spelling).
  2. `resolve_checked`: resolve a host and refuse it if ANY of its addresses is forbidden.
  3. `GuardedBackend`: an httpcore network backend that resolves and checks at connect time and
     then connects to the checked address itself, so a name re-pointed between check and connect
     (DNS rebinding) cannot reach a forbidden address.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import re
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpcore
import httpx

from rxcheck.errors import BlockedAddress, DNSError, InvalidURL
from rxcheck.fetch.ranges import (
    INTERNAL_SUFFIXES,
    IPV4_MAPPED,
    LOCAL_NAMES,
    METADATA_NAMES,
    NAT64,
    SIX_TO_FOUR,
    SPECIAL_RANGES,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
DEFAULT_PORTS: frozenset[int] = frozenset({80, 443})

_HOST_CHARS = re.compile(r"[a-z0-9_.-]+")
# Hosts that inet_aton(3) -- and so the system resolver -- reads as an IPv4 address:
# decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.0.0.1`, short `127.1`.
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")


class UnresolvableHost(DNSError):
    """The host name does not resolve."""


def forbidden_reason(ip: IPAddress | str, *, allow_private: bool = False) -> str | None:
    """Why `ip` must not be contacted ("loopback", "link-local", ...), or None if it may be.

    `allow_private` lifts only the loopback and private ranges (see `rxcheck.fetch.ranges`).
    """
    ip = ipaddress.ip_address(ip)
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
        # The IPv6 form reaches the IPv4 address it carries: judge that one.
        kind, v4 = embedded
        reason = forbidden_reason(v4, allow_private=allow_private)
        return f"{kind} {reason}" if reason else None
    for row in SPECIAL_RANGES:
        if ip.version == row.network.version and ip in row.network:
            return None if row.liftable and allow_private else row.reason
    return None


def is_forbidden_ip(ip: IPAddress | str, *, allow_private: bool = False) -> bool:
    """True for any address rxcheck refuses to contact (loopback, private, link-local, metadata, ...)."""
    return forbidden_reason(ip, allow_private=allow_private) is not None


def is_public_ip(ip: IPAddress | str) -> bool:
    """True for an address outside every special-purpose range."""
    return forbidden_reason(ip) is None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address carried by an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if ip in IPV4_MAPPED:
        return "IPv4-mapped", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return "6to4", ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def effective_ports(ports: frozenset[int] | None, *, allow_private: bool) -> frozenset[int] | None:
    """The ports that may be fetched (None: any). Unset, that is 80 and 443, or any port with `allow_private`."""
    if ports is not None:
        return ports
    return None if allow_private else DEFAULT_PORTS


def name_refusal(host: str) -> str | None:
    """Why a name rxcheck cannot resolve must not be handed to a proxy to resolve, or None if it may be."""
    name = host.rstrip(".").lower()
    if name in METADATA_NAMES:
        return "the name of a cloud metadata service"
    if name in LOCAL_NAMES or any(name.endswith(suffix) or name == suffix[1:] for suffix in INTERNAL_SUFFIXES):
        return "an internal name"
    if "." not in name:
        return "a single-label (intranet) name"
    return None


def ip_literal(host: str) -> IPAddress | None:
    """The address `host` denotes if it is an IP literal in any spelling the resolver accepts."""
    host = host.strip("[]").rstrip(".").lower()
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str, *, allow_private: bool = False, ports: frozenset[int] | None = DEFAULT_PORTS) -> str:
    """Refuse URLs rxcheck cannot or must not fetch; return the URL normalised (see `normalize_target`).

    `ports` lists the ports that may be fetched (None: any).
    Raises InvalidURL (cannot be fetched) or BlockedAddress (forbidden target).
    """
    target = _parse_target(url)
    shown = _shown(url.strip())
    if target.ip is None:
        if not allow_private and (target.host in LOCAL_NAMES or target.host.endswith(".localhost")):
            raise BlockedAddress(f"refused {shown}: {target.host} names this machine")
    elif reason := forbidden_reason(target.ip, allow_private=allow_private):
        raise BlockedAddress(f"refused {shown}: {target.ip} is {_a(reason)} address")
    if ports is not None and target.port not in ports:
        allowed = ", ".join(str(p) for p in sorted(ports)) if len(ports) < 20 else f"{len(ports)} ports"
        raise BlockedAddress(f"refused {shown}: port {target.port} is not one of the ports fetched ({allowed})")
    return target.url


def normalize_target(url: str) -> str:
    """`url` normalised, without refusing any address: lowercase scheme and host, IDNA (punycode) host, IPv4
    literals in dotted form, default port and fragment removed, empty path as "/". Raises InvalidURL."""
    return _parse_target(url).url


@dataclass(frozen=True)
class _Target:
    url: str
    host: str  # lowercase, no trailing dot, IDNA
    ip: IPAddress | None
    port: int


def _parse_target(url: str) -> _Target:
    url = url.strip()
    if not url:
        raise InvalidURL("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL too long ({len(url)} characters, at most {MAX_URL_LENGTH})")
    try:
        split = urlsplit(url)
        parsed = httpx.URL(_dotted_ipv4_host(split))
        raw_host = parsed.raw_host.decode("ascii").lower()
        port = parsed.port
    except (ValueError, UnicodeError, httpx.InvalidURL):
        raise InvalidURL(f"malformed URL {_shown(url)}") from None
    if parsed.scheme not in ("http", "https"):
        what = f"{parsed.scheme}: URLs" if parsed.scheme else "URLs without http:// or https://"
        raise InvalidURL(f"cannot check {_shown(url)}: only http and https URLs are supported, not {what}")
    if not raw_host:
        raise InvalidURL(f"no host in URL {_shown(url)}")
    ip = ip_literal(raw_host)
    name = raw_host.rstrip(".")
    if ip is None:
        labels = name.split(".")
        if not _HOST_CHARS.fullmatch(name) or "" in labels or len(name) > 253 or not _valid_idna(name):
            raise InvalidURL(f"invalid host name in {_shown(url)}")
    elif isinstance(ip, ipaddress.IPv4Address):
        raw_host = name = str(ip)
    default_port = {"http": 80, "https": 443}[parsed.scheme]
    changes: dict[str, Any] = {}
    if port == default_port:
        changes["port"] = None
    if raw_host != parsed.raw_host.decode("ascii"):
        changes["host"] = raw_host
    if parsed.fragment:
        changes["fragment"] = None
    if not split.path:
        changes["path"] = "/"
    normalized = str(parsed.copy_with(**changes) if changes else parsed)  # copy_with re-parses: slow
    return _Target(normalized, name, ip, port or default_port)


def _valid_idna(name: str) -> bool:
    """False for a punycode label that does not decode (`xn--a`): it names nothing and breaks IDNA decoding."""
    for label in name.split("."):
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                return False
    return True


def _shown(url: str, limit: int = 200) -> str:
    """`url` as quoted in a one-line message: printable ASCII only, cut when long."""
    text = url.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _dotted_ipv4_host(split: SplitResult) -> str:
    """The URL with an IPv4 host in another spelling (`0177.0.0.1`, `127.1`) rewritten dotted-decimal.

    httpx rejects some of these spellings and reads others as names, while the system resolver
    reads all of them as addresses; rewriting makes the URL mean what the resolver would reach.
    """
    host = split.hostname
    literal = ip_literal(host) if host else None
    if host is None or not isinstance(literal, ipaddress.IPv4Address) or host == str(literal):
        return split.geturl()
    userinfo, at, hostport = split.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{literal}{hostport[len(host) :]}"
    return urlunsplit(split._replace(netloc=netloc))


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiouAEIOU" else "a ") + noun


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for TCP, in resolver order (monkeypatched in tests)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [info[4][0] for info in infos]


async def resolve_checked(host: str, port: int, *, allow_private: bool = False) -> list[str]:
    """Resolve `host`; raise BlockedAddress if ANY of its addresses is forbidden.

    Refusing on any (not all) forbidden address matters: a client may connect to any of them.
    Raises UnresolvableHost (a DNSError) when the name does not resolve. Messages say which rule
    refused, never what the name resolved to (that would map internal DNS for a stranger).
    """
    literal = ip_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(dict.fromkeys(await _getaddrinfo(host, port)))
        except (socket.gaierror, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else "invalid name"
            raise UnresolvableHost(f"could not resolve {host}: {reason.lower()}") from None
        if not addresses:
            raise UnresolvableHost(f"could not resolve {host}: no addresses")
    strict = _public_only.get()
    for address in addresses:
        reason = forbidden_reason(address.split("%", 1)[0], allow_private=allow_private and not strict)
        if reason:
            verb = "is" if literal is not None else "resolves to"
            after = " after a redirect from a public address" if strict and allow_private else ""
            raise BlockedAddress(f"refused to contact {host}: it {verb} {_a(reason)} address{after}")
    return addresses


# Set for the rest of a fetch once it has reached a public address: from then on even `allow_private`
# does not let a redirect lead it to a private one (checked at connect time too, against rebinding).
_public_only: contextvars.ContextVar[bool] = contextvars.ContextVar("rxcheck_public_only", default=False)


@contextlib.contextmanager
def fetch_scope() -> Iterator[None]:
    """One fetch: `public_only` set inside it ends with it."""
    token = _public_only.set(False)
    try:
        yield
    finally:
        _public_only.reset(token)


def public_only() -> None:
    """From now on, in this task and those it starts, refuse every private address whatever `allow_private` says."""
    _public_only.set(True)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Network backend that checks the address it actually connects to (asyncio only).

    Each new connection resolves the host, refuses it if any address is forbidden, then connects to
    the checked address (never re-resolving), so the check and the connection see the same address.
    TLS still verifies the certificate against the host name (httpcore passes it as SNI).
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None, *, allow_private: bool = False) -> None:
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_checked(host, port, allow_private=self._allow_private)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out resolving {host}") from None
        error: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for address in addresses:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next address, like the default backend
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("refused to connect to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


DEFAULT_POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults


class GuardedTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` whose direct connections go through `GuardedBackend`.

    httpx 0.28 has no argument for an httpcore network backend (encode/httpx#3749 is still open),
    so the connection pool httpx builds is replaced by the same pool built with the guarded
    backend. Only `_pool` is touched; request handling and error mapping stay httpx's own.
    """

    def __init__(
        self,
        *,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = DEFAULT_POOL_LIMITS,
        allow_private: bool = False,
    ) -> None:
        super().__init__(verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits)
        if not isinstance(self._pool, httpcore.AsyncConnectionPool):  # pragma: no cover - httpx changed
            raise RuntimeError("unexpected httpx transport internals: cannot install the address guard")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=GuardedBackend(allow_private=allow_private),
        )
