"""Headers on every response: `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store` unless the route
set its own (verdicts do, from their cache lifetime; see `verdict_cache_control`).

Error responses built by `rxcheck.api.errors.error_response` carry the same headers themselves, because Starlette
answers unexpected exceptions outside the middleware stack.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = ("X-Content-Type-Options", "nosniff")
NO_STORE = ("Cache-Control", "no-store")
_ADDED = tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (NOSNIFF, NO_STORE))

RawHeaders = list[tuple[bytes, bytes]]


def with_security_headers(headers: RawHeaders) -> RawHeaders:
    """`headers` (an ASGI response's, names lower-case) with the security headers it does not set itself."""
    present = {name.lower() for name, _ in headers}
    return headers + [header for header in _ADDED if header[0] not in present]


def verdict_cache_control(*, max_age_s: int, age_s: int, shared: bool) -> str:
    """`Cache-Control` for a verdict: cacheable for what remains of its cache lifetime.

    `shared=False` (the server requires an API key for verdicts) keeps it out of shared caches.
    """
    remaining = max(0, max_age_s - age_s)
    if remaining == 0:
        return "no-cache"
    return f"{'public' if shared else 'private'}, max-age={remaining}"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_headers)
