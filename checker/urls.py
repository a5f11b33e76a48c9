"""URL handling shared by the CLI, the crawler and the API."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import tldextract

from rxcheck.errors import InvalidURL

MAX_URL_LENGTH = 2048
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # the shipped suffix list: offline


def registrable_domain(url: str) -> str:
    """The registrable domain of a URL (e.g. `shop.boots.co.uk` -> `boots.co.uk`), or the host when none; "" for a
    URL with no readable host (malformed, e.g. an unbalanced IPv6 bracket)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return _registrable_host(host)


@lru_cache(maxsize=8192)
def _registrable_host(host: str) -> str:
    return _extract(host).top_domain_under_public_suffix or host


def host_parts(host: str) -> tldextract.ExtractResult:
    """A host split at its public suffix: subdomain, domain, suffix."""
    return _extract(host)


def normalize_url(url: str) -> str:
    """The URL to start a check from: scheme added when missing (https), host lowercased, no fragment.

    Raises `InvalidURL` with a one-line reason.
    """
    raw = url.strip()
    if not raw:
        raise InvalidURL("empty URL")
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL longer than {MAX_URL_LENGTH} characters")
    if "://" not in raw:
        scheme, colon, rest = raw.partition(":")
        if colon and scheme.isalpha() and not rest[:1].isdigit():  # "javascript:alert(1)", "mailto:x" (not host:port)
            raise InvalidURL(f"unsupported scheme {scheme.lower()!r} in {url!r}: only http and https can be checked")
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"malformed URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(f"unsupported scheme {parts.scheme!r} in {url!r}: only http and https can be checked")
    host = (parts.hostname or "").rstrip(".")
    if not host or any(c in host for c in " \t\\<>\"'") or ".." in host:
        raise InvalidURL(f"no valid host in {url!r}")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError:
        raise InvalidURL(f"invalid international host name in {url!r}") from None
    netloc = host if ":" not in host else f"[{host}]"
    if port and not (parts.scheme == "http" and port == 80 or parts.scheme == "https" and port == 443):
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def site_key(url: str) -> str:
    """The key one site is known by (cache, resume): host without `www.`, port, and scheme-independent."""
    parts = urlsplit(normalize_url(url))
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/")
    return host + path
