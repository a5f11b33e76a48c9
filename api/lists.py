"""Hash-prefix lists of judged sites, for clients that must not tell the server which sites they visit.

Modelled on the Safe Browsing Update API (v4, "URLs and Hashing"): a site is known by the canonical host
expression of its host (`example.com/`), a list holds the first 4 bytes of the SHA-256 of each expression,
and a client checks a page by hashing the host expressions of its URL (the exact host, then up to four
parent domains made from the last five components, never the top-level domain alone, never parents of an
IP address) and looking the prefixes up locally. Only on a local hit does it ask for the full hashes behind
one prefix, so the server learns 4 bytes shared by many sites, never the site.

The lists are built from the unexpired verdict cache and from audit results finished within
`lists_max_age_s`; the newest verdict of each site wins, and each list keeps at most `lists_max_entries`
sites (the most recently judged). A list's version is a checksum of its sorted prefixes, so a client can
verify what it holds, and versions mean the same thing across server restarts. A bounded history of
recent versions lets a client fetch only the difference since the version it has.

The rogue list is also published by name (`rogue_hosts`), as regulators publish their lists of rogue
pharmacies' domains: a client that holds every name can stop a listed site before its first request, and
downloading the whole list tells the server nothing about what its user visits. Only domain names are on it
(an IP address stays on the prefix list). Suspicious and legitimate sites are known by prefix only.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from rxcheck.api.storage import JudgedSite, Storage
from rxcheck.errors import InvalidURL
from rxcheck.urls import normalize_url

ListName = Literal["rogue", "suspicious", "legitimate"]
LIST_NAMES: tuple[ListName, ...] = ("rogue", "suspicious", "legitimate")
PREFIX_BYTES = 4
HISTORY_VERSIONS = 32  # versions of each list remembered for diffs


def canonical_host(host: str) -> str:
    """A host name canonicalised as Safe Browsing does: no leading, trailing or repeated dots, IP addresses
    in dotted decimal (any legal IPv4 spelling: octal, hex, fewer than four parts), lower case, IDN as
    punycode; IPv6 compressed, in brackets (as a browser's URL parser gives it). Raises `InvalidURL` for a host
    that is empty or invalid after this."""
    name = ".".join(part for part in host.strip().split(".") if part)
    if not name:
        raise InvalidURL(f"no host in {host!r}")
    if ":" in name:  # IPv6, bracketed as URL parsers write it
        try:
            return f"[{ipaddress.IPv6Address(name.strip('[]')).compressed}]"
        except ValueError:
            raise InvalidURL(f"invalid IPv6 address {host!r}") from None
    ip = _ipv4(name)
    if ip is not None:
        return ip
    try:
        return name.encode("idna").decode("ascii").lower() if not name.isascii() else name.lower()
    except UnicodeError:
        raise InvalidURL(f"invalid international host name {host!r}") from None


def _ipv4(name: str) -> str | None:
    if not all(c in "0123456789abcdefxABCDEFX." for c in name) or not name[0].isdigit():
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(name))
    except OSError:
        return None


def host_expressions(host: str) -> list[str]:
    """The host suffix expressions a client hashes for a page on `host` (exact host first)."""
    canonical = canonical_host(host)
    expressions = [canonical + "/"]
    if _is_ip(canonical):
        return expressions
    parts = canonical.split(".")[-5:]
    for start in range(len(parts) - 1):
        candidate = ".".join(parts[start:]) + "/"
        if candidate not in expressions:
            expressions.append(candidate)
    return expressions[:5]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def full_hash(expression: str) -> bytes:
    return hashlib.sha256(expression.encode("utf-8")).digest()


def site_expression(url: str) -> str | None:
    """The expression a judged site is listed under: its host without `www.` (the site a verdict is about,
    whichever page the check started from). A site on a non-default port is not listed."""
    try:
        parts = urlsplit(normalize_url(url))
    except InvalidURL:
        return None
    if ":" in parts.netloc.rsplit("]", 1)[-1] or not parts.hostname:
        return None
    try:
        return canonical_host(parts.hostname.removeprefix("www.")) + "/"
    except InvalidURL:
        return None


@dataclass(frozen=True)
class ListEntry:
    """One listed site; `/v1/hashes` tells all of it but `host`, the site's name."""

    list: ListName
    host: str
    full_hash: bytes
    verdict: str
    risk_score: int
    stored_at: float
    checked_at: str | None
    jurisdiction: str | None
    rules_version: str | None
    site_type: str | None
    verdict_reason: str | None


@dataclass(frozen=True)
class HashList:
    name: ListName
    version: str
    prefixes: tuple[bytes, ...]  # sorted, distinct


def list_version(prefixes: Iterable[bytes]) -> str:
    """The checksum a list's version is: SHA-256 of its sorted prefixes, concatenated (first 16 hex digits)."""
    return hashlib.sha256(b"".join(sorted(prefixes))).hexdigest()[:16]


def hosts_version(hosts: Iterable[str]) -> str:
    """The checksum a host list's version is: SHA-256 of its sorted names, each followed by a newline (first 16
    hex digits)."""
    return hashlib.sha256("".join(f"{host}\n" for host in sorted(hosts)).encode("ascii")).hexdigest()[:16]


def build_entries(rows: Iterable[JudgedSite], *, max_entries: int) -> dict[bytes, ListEntry]:
    """Entries by full hash from stored verdicts given newest first; the first verdict of a site wins.

    Verdicts other than the three listed ones (`not_a_pharmacy`, `unreachable`) still claim their site, so an
    older rogue verdict never outlives a newer "not a pharmacy"."""
    entries: dict[bytes, ListEntry] = {}
    claimed: set[bytes] = set()
    per_list: dict[str, int] = dict.fromkeys(LIST_NAMES, 0)
    for row in rows:
        expression = site_expression(str(row.final_url or row.url or ""))
        if expression is None:
            continue
        digest = full_hash(expression)
        if digest in claimed:
            continue
        claimed.add(digest)
        verdict = row.verdict
        if verdict not in per_list or per_list[verdict] >= max_entries:
            continue
        per_list[verdict] += 1
        entries[digest] = ListEntry(
            list=verdict,
            host=expression.removesuffix("/"),
            full_hash=digest,
            verdict=verdict,
            risk_score=int(row.risk_score or 0),
            stored_at=row.stored_at,
            checked_at=row.checked_at,
            jurisdiction=row.jurisdiction,
            rules_version=row.rules_version,
            site_type=row.site_type if isinstance(row.site_type, str) else None,
            verdict_reason=(row.verdict_reason or None) if isinstance(row.verdict_reason, str) else None,
        )
    return entries


@dataclass(frozen=True)
class HostList:
    version: str
    hosts: tuple[str, ...]  # sorted, distinct


@dataclass(frozen=True)
class ListDiff:
    list: HashList
    kind: Literal["full", "diff"]
    since: str | None
    additions: tuple[bytes, ...]
    removals: tuple[bytes, ...]


@dataclass(frozen=True)
class HostDiff:
    list: HostList
    kind: Literal["full", "diff"]
    since: str | None
    additions: tuple[str, ...]
    removals: tuple[str, ...]


@dataclass
class ListService:
    """The current lists, rebuilt from the store at most every `refresh_s`, with a short version history."""

    max_entries: int
    max_age_s: int
    refresh_s: int
    _by_prefix: dict[bytes, list[ListEntry]] = field(default_factory=dict)
    _lists: dict[str, HashList] = field(default_factory=dict)
    _history: dict[str, OrderedDict[str, frozenset[bytes]]] = field(
        default_factory=lambda: {name: OrderedDict() for name in LIST_NAMES}
    )
    _rogue_hosts: HostList = field(default_factory=lambda: HostList(hosts_version(()), ()))
    _host_history: OrderedDict[str, frozenset[str]] = field(default_factory=OrderedDict)
    _built_at: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self, store: Storage, now: float) -> None:
        """Rebuild the lists if they are older than `refresh_s` (concurrent callers share one rebuild)."""
        if self._built_at is not None and now - self._built_at < self.refresh_s:
            return
        async with self._lock:
            if self._built_at is not None and now - self._built_at < self.refresh_s:
                return
            rows = await store.judged_sites(
                now=now, audits_since=now - self.max_age_s, limit=self.max_entries * len(LIST_NAMES) * 2
            )
            self._install(build_entries(rows, max_entries=self.max_entries), now)

    def _install(self, entries: dict[bytes, ListEntry], now: float) -> None:
        for name in LIST_NAMES:
            prefixes = tuple(sorted({e.full_hash[:PREFIX_BYTES] for e in entries.values() if e.list == name}))
            hash_list = HashList(name, list_version(prefixes), prefixes)
            _remember(self._history[name], hash_list.version, frozenset(prefixes))
            self._lists[name] = hash_list
        hosts = tuple(sorted({e.host for e in entries.values() if e.list == "rogue" and not _is_ip(e.host)}))
        self._rogue_hosts = HostList(hosts_version(hosts), hosts)
        _remember(self._host_history, self._rogue_hosts.version, frozenset(hosts))
        by_prefix: dict[bytes, list[ListEntry]] = {}
        for digest in sorted(entries):
            by_prefix.setdefault(digest[:PREFIX_BYTES], []).append(entries[digest])
        self._by_prefix = by_prefix
        self._built_at = now

    def current(self, name: ListName) -> HashList:
        return self._lists[name]

    def diff(self, name: ListName, since: str | None) -> ListDiff:
        """The list as additions and removals since version `since` when it is remembered, else in full."""
        current = self._lists[name]
        old = self._history[name].get(since) if since else None
        if old is None:
            return ListDiff(current, "full", None, current.prefixes, ())
        now = frozenset(current.prefixes)
        return ListDiff(current, "diff", since, tuple(sorted(now - old)), tuple(sorted(old - now)))

    def rogue_hosts_diff(self, since: str | None) -> HostDiff:
        """The rogue sites' names as additions and removals since version `since` when it is remembered, else in
        full."""
        current = self._rogue_hosts
        old = self._host_history.get(since) if since else None
        if old is None:
            return HostDiff(current, "full", None, current.hosts, ())
        now = frozenset(current.hosts)
        return HostDiff(current, "diff", since, tuple(sorted(now - old)), tuple(sorted(old - now)))

    def matches(self, prefix: bytes) -> list[ListEntry]:
        """The entries whose full hash starts with `prefix` (at least `PREFIX_BYTES` long), in hash order."""
        return [e for e in self._by_prefix.get(prefix[:PREFIX_BYTES], ()) if e.full_hash.startswith(prefix)]


def _remember(history: OrderedDict[str, frozenset[Any]], version: str, items: frozenset[Any]) -> None:
    history[version] = items
    history.move_to_end(version)
    while len(history) > HISTORY_VERSIONS:
        history.popitem(last=False)
