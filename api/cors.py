"""CORS: Starlette's middleware, with refused preflights answered in the API's JSON error shape."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from rxcheck.api.errors import error_response


class JSONErrorCORSMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode("utf-8", "replace").removeprefix("Disallowed CORS ")
        kept = ("access-control-", "vary")
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith(kept)}
        origin = request_headers.get("origin", "")
        message = f"CORS preflight refused ({refused}) for origin {origin!r}"
        return error_response(400, "cors_refused", message, headers=headers)

    def simple_headers_for(self, origin: str | None) -> dict[str, str]:
        """The headers `send` adds to the answer of a simple (not preflight) request from `origin`, when that
        answer has no `Vary` of its own: for answers built without passing through this middleware."""
        if origin is None:
            return {"Vary": "Origin"}
        headers = dict(self.simple_headers)
        if self.allow_credentials if self.allow_all_origins else self.is_allowed_origin(origin):
            headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
        return headers
