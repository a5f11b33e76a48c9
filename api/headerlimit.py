"""Refuse requests whose header block is too large, by field count or by bytes, with 431.

The server bounds what it buffers of a head still arriving (`rxcheck serve` counts it against
`max_header_bytes`, see `api/server.py`), but a head that arrives whole in one read is parsed whatever its size;
this bounds what reaches the routes, and the number of fields, which a small block can still make large.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from rxcheck.api.errors import error_response


class HeaderLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_headers: int, max_bytes: int) -> None:
        self.app = app
        self.max_headers = max_headers
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = header_problem(scope.get("headers", ()), max_headers=self.max_headers, max_bytes=self.max_bytes)
            if problem:
                await error_response(431, "request_header_fields_too_large", problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def header_problem(headers: Iterable[tuple[bytes, bytes]], *, max_headers: int, max_bytes: int) -> str | None:
    """Why a request's header fields are refused (too many, too large), or None."""
    count = size = 0
    for name, value in headers:
        count += 1
        size += len(name) + len(value) + 4
    if count > max_headers:
        return f"more than {max_headers} header fields in one request"
    if size > max_bytes:
        return f"request headers larger than {max_bytes} bytes"
    return None
