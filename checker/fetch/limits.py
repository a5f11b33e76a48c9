"""How much a fetch may cost: deadlines, timeouts, sizes, redirects, retries, connections, ports.

The README's "Limits" section lists each one with its default and the option or setting that changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_USER_AGENT = "rxcheck/0.1 (+https://github.com/rxcheck/rxcheck; online pharmacy legitimacy checker)"
ANY_PORT: frozenset[int] = frozenset(range(1, 65536))


@dataclass(frozen=True, kw_only=True)
class FetchLimits:
    connect_timeout: float = 5.0  # seconds to resolve and connect (TLS handshake included)
    read_timeout: float = 10.0  # seconds without receiving anything
    page_deadline: float = 20.0  # seconds for one fetch in total: queueing, redirects, retries, the whole body
    site_deadline: float = 60.0  # seconds for a whole site; enforced by the crawler, carried here
    max_body_bytes: int = 3_000_000  # a larger body (counted after decompression) is `too_large`
    max_redirects: int = 5
    max_retries: int = 2  # extra attempts after a 429 or 503
    max_retry_wait: float = 2.0  # seconds waited before a retry at most, whatever Retry-After asks
    per_host_concurrency: int = 2  # connections one site (registrable domain and port) may hold at once
    max_connections: int = 100  # connections all sites together may hold
    ports: frozenset[int] | None = None  # ports fetched; None: 80 and 443 (any port with allow_private)
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.read_timeout, self.page_deadline, self.site_deadline) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_body_bytes < 0 or self.max_redirects < 0 or self.max_retries < 0 or self.max_retry_wait < 0:
            raise ValueError("max_body_bytes, max_redirects, max_retries and max_retry_wait must be >= 0")
        if self.per_host_concurrency < 1 or self.max_connections < self.per_host_concurrency:
            raise ValueError("per_host_concurrency must be >= 1 and max_connections >= per_host_concurrency")
        if self.ports is not None and not all(1 <= port <= 65535 for port in self.ports):
            raise ValueError("ports must be between 1 and 65535")


DEFAULT_LIMITS = FetchLimits()
