"""Audit URLs are checked when the audit is submitted, with the same checks as `GET /v1/verdict` (scheme, host,
2048 characters, refused address literals: `api.guard.static_target`).

An audit holding any refused URL is refused as a whole (422 `invalid_urls`), listing each refused entry by its
position, so nothing of a malformed list is stored or queued and the caller fixes every line in one go. What can
only be known at crawl time (a name resolving to a private address, a site that does not answer) still becomes
that URL's `unreachable` result, typed by its error, while the audit carries on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.errors import ApiError
from api.guard import static_target
from checker.errors import RxcheckError

MAX_LISTED = 100  # refused entries listed in one answer; the message gives the full count


def check_audit_urls(urls: Sequence[str], *, allow_private: bool) -> None:
    """Raises a 422 `ApiError` listing the refused entries (`body.urls.<index>`) when any URL is refused."""
    refused: list[dict[str, Any]] = []
    count = 0
    for index, url in enumerate(urls):
        try:
            static_target(url, allow_private=allow_private)
        except RxcheckError as exc:
            reason, kind = str(exc), exc.type
        except ValueError:  # a host name the IDNA codec rejects
            reason, kind = "malformed host name", "invalid_url"
        else:
            continue
        count += 1
        if len(refused) < MAX_LISTED:
            refused.append({"loc": f"body.urls.{index}", "msg": reason, "type": kind})
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
