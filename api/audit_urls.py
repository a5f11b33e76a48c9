"""Audit URLs are checked when the audit is submitted, with the same checks as `GET /v1/verdict` (scheme, host,
port, 2048 characters, refused address literals: `VerdictService.target`), for `POST /v1/audits` and for the
streamed list of `POST /v1/audits/upload` alike.

An audit holding any refused URL is refused as a whole (422 `invalid_urls`), listing each refused entry by its
position (`body.urls.<index>`, counted from 0 over the URLs of the list, as the audit's results are), so nothing of
a malformed list is stored or queued and the caller fixes every line in one go. What can only be known at crawl time
(a name resolving to a private address, a site that does not answer) still becomes that URL's `unreachable`
result, typed by its error, while the audit carries on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rxcheck.api.errors import ApiError
from rxcheck.errors import RxcheckError

MAX_LISTED = 100  # refused entries listed in one answer; the message gives the full count


class URLChecks:
    """Checks an audit's URLs one by one (as a list streams in), then refuses the audit if any was refused."""

    def __init__(self, target: Callable[[str], str]) -> None:
        self._target = target
        self.refused: list[dict[str, Any]] = []
        self.count = 0  # URLs refused
        self.seen = 0  # URLs checked

    def accept(self, url: str) -> bool:
        """Check the next URL of the list; False (and noted) when it is refused."""
        index = self.seen
        self.seen += 1
        try:
            self._target(url)
        except RxcheckError as exc:
            self.count += 1
            if len(self.refused) < MAX_LISTED:
                self.refused.append({"loc": f"body.urls.{index}", "msg": str(exc), "type": exc.type})
            return False
        return True

    def raise_if_refused(self) -> None:
        """Raises a 422 `ApiError` listing the refused entries when there were any."""
        if not self.count:
            return
        first = self.refused[0]
        more = f" (and {self.count - 1} more)" if self.count > 1 else ""
        raise ApiError(
            422,
            "invalid_urls",
            f"{self.count} of {self.seen} URLs refused, nothing was queued; first {first['loc']}: {first['msg']}{more}",
            details=self.refused,
        )


def check_audit_urls(urls: Sequence[str], *, target: Callable[[str], str]) -> None:
    """Raises a 422 `ApiError` listing the refused entries (`body.urls.<index>`) when `target` refuses any URL."""
    checks = URLChecks(target)
    for url in urls:
        checks.accept(url)
    checks.raise_if_refused()
