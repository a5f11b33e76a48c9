"""Server-side request forgery protection: refuse URLs and addresses rxcheck must never contact.

Three layers, all off with `allow_private=True` (local testing only):
  1. `check_url`: static checks on a URL (scheme, length, host name, IP literals in every spelling).
  2. `resolve_checked`: resolve a host and refuse it if ANY of its addresses is forbidden.
  3. `GuardedBackend`: an httpcore network backend that resolves and checks at connect time and
     then connects to the checked address itself, so a name re-pointed between check and connect
     (DNS rebinding) cannot reach a forbidden address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpcore
import httpx

from checker.errors import BlockedAddress, FetchError, InvalidURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

# Names that always mean this machine, whatever DNS says (RFC 6761 and common /etc/hosts entries).
_LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "localhost6",
        "localhost6.localdomain6",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-allnodes",
        "ip6-allrouters",
        "broadcasthost",
    }
)
_HOST_CHARS = re.compile(r"[a-z0-9_.-]+")
# Hosts that inet_aton(3) -- and so the system resolver -- reads as an IPv4 address:
# decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.0.0.1`, short `127.1`.
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_DOCUMENTATION = (
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("203.0.113.0/24"),
    ipaddress.IPv6Network("2001:db8::/32"),
    ipaddress.IPv6Network("3fff::/20"),
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = ipaddress.IPv4Address("169.254.169.254")


class UnresolvableHost(FetchError):
    """The host name does not resolve (kept apart from BlockedAddress so callers can tell them apart)."""


def forbidden_reason(ip: IPAddress | str) -> str | None:
    """Why `ip` must not be contacted ("loopback", "private", ...), or None if it is a public address."""
    ip = ipaddress.ip_address(ip)
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
        # The IPv6 form reaches the IPv4 address it carries: judge that one.
        kind, v4 = embedded
        reason = forbidden_reason(v4)
        return f"{kind} {reason}" if reason else None
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)" if ip == _METADATA else "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE:
        return "shared address space (carrier-grade NAT)"
    if any(ip.version == net.version and ip in net for net in _DOCUMENTATION):
        return "documentation"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.IPv6Network("fc00::/7"):
        return "unique-local"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def is_forbidden_ip(ip: IPAddress | str) -> bool:
    """True for any address rxcheck refuses to contact (loopback, private, link-local, metadata, ...)."""
    return forbidden_reason(ip) is not None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address carried by an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    return None  # Teredo (2001::/32) needs no unpacking: Python counts all of it as non-global


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


def check_url(url: str, *, allow_private: bool = False) -> str:
    """Refuse URLs rxcheck cannot or must not fetch; return the URL normalised.

    Normalised: lowercase scheme and host, IDNA (punycode) host, IPv4 literals in dotted form,
    default port and fragment removed, empty path as "/".
    Raises InvalidURL (cannot be fetched) or BlockedAddress (forbidden target).
    """
    url = url.strip()
    if not url:
        raise InvalidURL("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL too long ({len(url)} characters, at most {MAX_URL_LENGTH})")
    try:
        split = urlsplit(url)
        parsed = httpx.URL(_dotted_ipv4_host(split))
    except (ValueError, httpx.InvalidURL) as exc:
        raise InvalidURL(f"malformed URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        what = f"{parsed.scheme}: URLs" if parsed.scheme else "URLs without http:// or https://"
        raise InvalidURL(f"cannot check {url!r}: only http and https URLs are supported, not {what}")
    raw_host = parsed.raw_host.decode("ascii").lower()
    if not raw_host:
        raise InvalidURL(f"no host in URL {url!r}")

    ip = ip_literal(raw_host)
    if ip is None:
        name = raw_host.rstrip(".")
        labels = name.split(".")
        if not _HOST_CHARS.fullmatch(name) or "" in labels or len(name) > 253:
            raise InvalidURL(f"invalid host name {parsed.host!r} in {url!r}")
        if not allow_private and (name in _LOCAL_NAMES or name.endswith(".localhost")):
            raise BlockedAddress(f"refused {url}: {name} names this machine")
    else:
        if not allow_private and (reason := forbidden_reason(ip)):
            raise BlockedAddress(f"refused {url}: {ip} is {_a(reason)} address")
        if isinstance(ip, ipaddress.IPv4Address):
            raw_host = str(ip)

    changes: dict[str, Any] = {}
    if parsed.port == {"http": 80, "https": 443}[parsed.scheme]:
        changes["port"] = None
    if raw_host != parsed.raw_host.decode("ascii"):
        changes["host"] = raw_host
    if parsed.fragment:
        changes["fragment"] = None
    if not split.path:
        changes["path"] = "/"
    return str(parsed.copy_with(**changes) if changes else parsed)  # copy_with re-parses: slow


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
    Raises UnresolvableHost (a FetchError) when the name does not resolve.
    """
    literal = ip_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(dict.fromkeys(await _getaddrinfo(host, port)))
        except (socket.gaierror, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
            raise UnresolvableHost(f"could not resolve {host}: {reason.lower()}") from None
        if not addresses:
            raise UnresolvableHost(f"could not resolve {host}: no addresses")
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address.split("%", 1)[0])
            if reason:
                shown = "is" if literal is not None else f"resolves to {address},"
                raise BlockedAddress(f"refused to contact {host}: it {shown} {_a(reason)} address")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Network backend that checks the address it actually connects to (asyncio only).

    Each new connection resolves the host, refuses it if any address is forbidden, then connects to
    the checked address (never re-resolving), so the check and the connection see the same address.
    TLS still verifies the certificate against the host name (httpcore passes it as SNI).
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

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
                addresses = await resolve_checked(host, port)
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
        raise BlockedAddress(f"refused to connect to the unix socket {path}")

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
            network_backend=GuardedBackend(),
        )
