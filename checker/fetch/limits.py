"""How much a fetch may cost: timeouts, sizes, redirects, politeness."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_USER_AGENT = "rxcheck/0.1 (+https://github.com/rxcheck/rxcheck; online pharmacy legitimacy checker)"


@dataclass(frozen=True, kw_only=True)
class FetchLimits:
    connect_timeout: float = 5.0  # seconds to resolve and connect (TLS handshake included)
    read_timeout: float = 10.0  # seconds without receiving anything
    site_deadline: float = 60.0  # seconds for a whole site; enforced by the crawler, carried here
    max_body_bytes: int = 3_000_000  # a body is cut (and marked truncated) past this many bytes
    max_redirects: int = 5
    per_host_concurrency: int = 2
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.read_timeout, self.site_deadline) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_body_bytes < 0 or self.max_redirects < 0 or self.per_host_concurrency < 1:
            raise ValueError("max_body_bytes and max_redirects must be >= 0, per_host_concurrency >= 1")


DEFAULT_LIMITS = FetchLimits()
