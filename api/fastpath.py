"""Cached verdicts answered before FastAPI's routing and the other middleware: the hot path of `GET /v1/verdict`.

A browser extension asks for a verdict on every page load, and nearly all of those are cache hits. This ASGI layer
is the outermost of the app's own middleware. It answers a plain `GET /v1/verdict?url=...[&jurisdiction=...]
[&fresh=false]` whose verdict is in memory (`VerdictService.cached`) with the pre-serialised bytes, after the same
access check and rate-limit charge as the route, and with the headers the layers it skips would have added (CORS,
security headers: built by the same functions they use). A request those layers would refuse (too many or too
large header fields, a body) is not answered here. Everything else (a miss, `fresh=true`, a refused or invalid
request, an unknown parameter) goes on through the middleware to the route unchanged, which answers it as before,
errors included: the answer is the same either way, only cheaper.
"""

from __future__ import annotations

from typing import get_args
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rxcheck.api.auth import bearer_token
from rxcheck.api.cors import JSONErrorCORSMiddleware
from rxcheck.api.deps import Services, charge_request
from rxcheck.api.errors import ApiError, error_response
from rxcheck.api.headerlimit import header_problem
from rxcheck.api.headers import RawHeaders, with_security_headers
from rxcheck.api.models import JurisdictionCode, normalize_jurisdiction
from rxcheck.api.routes_verdict import verdict_response

PATH = "/v1/verdict"
PARAMS = frozenset({"url", "jurisdiction", "fresh"})
NOT_FRESH = frozenset({"false", "0"})
JURISDICTIONS = frozenset(get_args(JurisdictionCode))
READ = frozenset({b"origin", b"authorization", b"content-length", b"transfer-encoding"})


class CachedVerdictMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        services: Services,
        cors: JSONErrorCORSMiddleware,
        max_headers: int,
        max_header_bytes: int,
    ) -> None:
        self.app = app
        self.services = services
        self.cors = cors
        self.max_headers = max_headers
        self.max_header_bytes = max_header_bytes
        self._no_origin = _raw(cors.simple_headers_for(None))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            response = self._answer(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> Response | None:
        """The whole answer to a plain cached lookup, or None to leave the request to the middleware and route."""
        verdicts = self.services.verdicts
        if verdicts is None:
            return None
        headers = scope["headers"]
        if header_problem(headers, max_headers=self.max_headers, max_bytes=self.max_header_bytes):
            return None  # HeaderLimitMiddleware answers 431
        fields: dict[bytes, str] = {}
        for name, value in headers:
            if name in READ and name not in fields:
                fields[name] = value.decode("latin-1")
        if b"transfer-encoding" in fields or fields.get(b"content-length", "0") != "0":
            return None  # a body: BodyLimitMiddleware counts it
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs) or not params.keys() <= PARAMS:
            return None
        url = params.get("url")
        jurisdiction = normalize_jurisdiction(params.get("jurisdiction", "auto"))
        if not url or jurisdiction not in JURISDICTIONS or params.get("fresh", "false").lower() not in NOT_FRESH:
            return None
        authorization = fields.get(b"authorization")
        requires_key = self.services.settings.verdict_requires_key
        if requires_key:
            token = bearer_token(authorization)
            if token is None or self.services.keys.identify(token) is None:
                return None  # the route answers 401
        lookup = verdicts.cached(url, str(jurisdiction))
        if lookup is None:
            return None
        client = scope.get("client")
        try:
            charge_request(self.services, authorization=authorization, address=client[0] if client else None)
        except ApiError as exc:
            response: Response = error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)
        else:
            response = verdict_response(lookup, shared=not requires_key)
        origin = fields.get(b"origin")
        cors = self._no_origin if origin is None else _raw(self.cors.simple_headers_for(origin))
        response.raw_headers = with_security_headers(response.raw_headers + cors)
        return response


def _raw(headers: dict[str, str]) -> RawHeaders:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
