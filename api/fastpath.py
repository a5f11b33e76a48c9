"""Cached verdicts answered before FastAPI's routing: the hot path of `GET /v1/verdict`.

A browser extension asks for a verdict on every page load, and nearly all of those are cache hits. This ASGI layer
sits inside the other middleware (security headers, header and body limits, CORS all still apply) and answers a
plain `GET /v1/verdict?url=...[&jurisdiction=...][&fresh=false]` whose verdict is in memory
(`VerdictService.cached`) with the pre-serialised bytes, after the same access check and rate-limit charge as the
route. Everything else (a miss, `fresh=true`, a refused or invalid request, an unknown parameter) goes on to the
route unchanged, which answers it as before, errors included: the answer is the same either way, only cheaper.
"""

from __future__ import annotations

from typing import get_args

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from rxcheck.api.auth import bearer_token
from rxcheck.api.deps import Services, charge_request
from rxcheck.api.errors import ApiError, error_response
from rxcheck.api.models import JurisdictionCode, normalize_jurisdiction
from rxcheck.api.routes_verdict import verdict_response
from rxcheck.api.verdicts import Lookup

PATH = "/v1/verdict"
PARAMS = frozenset({"url", "jurisdiction", "fresh"})
NOT_FRESH = frozenset({"false", "0"})
JURISDICTIONS = frozenset(get_args(JurisdictionCode))


class CachedVerdictMiddleware:
    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            request = Request(scope)
            lookup = self._cached(request)
            if lookup is not None:
                try:
                    charge_request(request, self.services)
                except ApiError as exc:
                    response = error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)
                else:
                    response = verdict_response(lookup, shared=not self.services.settings.verdict_requires_key)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _cached(self, request: Request) -> Lookup | None:
        """The cached answer to a plain lookup, or None to leave the request to the route."""
        verdicts = self.services.verdicts
        if verdicts is None:
            return None
        params = QueryParams(request.scope["query_string"])
        if len(params) != len(params.multi_items()) or not params.keys() <= PARAMS:
            return None
        url = params.get("url")
        jurisdiction = normalize_jurisdiction(params.get("jurisdiction", "auto"))
        if not url or jurisdiction not in JURISDICTIONS or params.get("fresh", "false").lower() not in NOT_FRESH:
            return None
        if self.services.settings.verdict_requires_key:
            token = bearer_token(request.headers.get("authorization"))
            if token is None or self.services.keys.identify(token) is None:
                return None  # the route answers 401
        return verdicts.cached(url, str(jurisdiction))
