"""Audit URLs are checked when the audit is submitted, with the same checks as `GET /v1/verdict` (scheme, host,
port, 2048 characters, refused address literals: `VerdictService.target`).

An audit holding any refused URL is refused as a whole (422 `invalid_urls`), listing each refused entry by its
position, so nothing of a malformed list is stored or queued and the caller fixes every line in one go. What can
only be known at crawl time (a name resolving to a private address, a site that does not answer) still becomes
that URL's `unreachable` result, typed by its error, while the audit carries on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from api.errors import ApiError
from checker.errors import RxcheckError

MAX_LISTED = 100  # refused entries listed in one answer; the message gives the full count


def check_audit_urls(urls: Sequence[str], *, target: Callable[[str], str]) -> None:
    """Raises a 422 `ApiError` listing the refused entries (`body.urls.<index>`) when `target` refuses any URL."""
    refused: list[dict[str, Any]] = []
    count = 0
    for index, url in enumerate(urls):
        try:
            target(url)
        except RxcheckError as exc:
            count += 1
            if len(refused) < MAX_LISTED:
                refused.append({"loc": f"body.urls.{index}", "msg": str(exc), "type": exc.type})
    if not count:
        return
    first = refused[0]
    more = f" (and {count - 1} more)" if count > 1 else ""
    raise ApiError(
        422,
        "invalid_urls",
        f"{count} of {len(urls)} URLs refused, nothing was queued; first {first['loc']}: {first['msg']}{more}",
        details=refused,
    )
