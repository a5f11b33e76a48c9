"""Refuse requests with more than `max_headers` header fields with 431.

The size of the whole header block is bounded by the HTTP parser (`rxcheck serve` runs h11 with
`max_header_bytes`, see `api/server.py`); this bounds their number, which a small block can still make large.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response


class HeaderCountMiddleware:
    def __init__(self, app: ASGIApp, *, max_headers: int) -> None:
        self.app = app
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and len(scope.get("headers", ())) > self.max_headers:
            message = f"more than {self.max_headers} header fields in one request"
            await error_response(431, "request_header_fields_too_large", message)(scope, receive, send)
            return
        await self.app(scope, receive, send)
