"""Which URLs the API agrees to check, decided before anything is fetched.

Two steps, both from `rxcheck.fetch.guard`:

1. `static_target` (every mode, every request, no I/O): normalise the URL, then refuse what its text alone
   shows is unacceptable: a scheme other than http/https, more than 2048 characters, no host, `localhost`
   names, ports other than the allowed ones (80 and 443 by default), and IP literals of forbidden ranges in
   any spelling (dotted, decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f000001`, IPv6 and IPv4-mapped
   IPv6). Replay mode runs this step too, so a
   refused target is refused whatever the mode.
2. `resolved_target` (live mode only, just before a crawl, so never for a cache hit): resolve the host and
   refuse it if any address is private, loopback, link-local, multicast or otherwise not public. Replay
   mode skips it: replay never touches the network and fixture hosts need not exist in DNS.

The LiveFetcher checks again at connect time and after every redirect (DNS can change between the two).
`allow_private=True` (setting `allow_private_addresses`) lifts the loopback and private refusals, for local testing
only; link-local and cloud metadata addresses stay refused whatever the settings.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from rxcheck.fetch.guard import DEFAULT_PORTS, check_url, resolve_checked
from rxcheck.urls import normalize_url


@lru_cache(maxsize=4096)  # a pure function of its text, asked again for every cached lookup of the same URL
def static_target(url: str, *, allow_private: bool, ports: frozenset[int] | None = DEFAULT_PORTS) -> str:
    """The normalised URL to check. Raises `InvalidURL` or `BlockedAddress` naming what was refused."""
    return check_url(normalize_url(url), allow_private=allow_private, ports=ports)


async def resolved_target(url: str, *, allow_private: bool) -> None:
    """Raises `BlockedAddress` when the host of `url` (already normalised) resolves to a refused address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await resolve_checked(host, port, allow_private=allow_private)
