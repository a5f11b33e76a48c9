"""URL handling shared by the CLI, the crawler and the API."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from checker.errors import InvalidURL

MAX_URL_LENGTH = 2048


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
