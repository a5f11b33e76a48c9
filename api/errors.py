"""Every error the API answers is JSON: `{"error": {"code": ..., "message": ...}}`.

`ApiError` is what route code raises; the handlers installed by `install_error_handlers` turn it, Starlette's
HTTP errors (404, 405, 413...), request validation errors and unexpected exceptions into that shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from rxcheck.api.headers import NO_STORE, NOSNIFF

log = logging.getLogger("rxcheck.api")

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    431: "request_header_fields_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
    504: "deadline_exceeded",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error answered to the client with `status_code` and a JSON body."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status_code, headers=dict([NOSNIFF, NO_STORE]) | (headers or {})
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error body for `statuses`."""
    return {s: {"model": ErrorBody, "description": CODES.get(s, "error").replace("_", " ")} for s in statuses}


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers, details=exc.details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such resource: {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message, headers=dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if errors and errors[0].get("type") == "json_invalid":
        return error_response(400, "invalid_json", _json_error_message(errors[0], exc.body))
    details = []
    for err in errors:
        loc = ".".join(str(part) for part in err.get("loc", ()))
        msg = "unknown field" if err.get("type") == "extra_forbidden" else str(err.get("msg", ""))
        details.append({"loc": loc, "msg": msg, "type": str(err.get("type", ""))})
    first = details[0] if details else {"loc": "request", "msg": "invalid"}
    message = f"{first['loc']}: {first['msg']}" + (f" (and {len(details) - 1} more)" if len(details) > 1 else "")
    return error_response(422, "validation_error", message, details=details)


def _json_error_message(error: Any, document: Any) -> str:
    """'the body is not valid JSON: Expecting value at line 1, column 9' from FastAPI's `json_invalid` error."""
    reason = str((error.get("ctx") or {}).get("error") or "malformed")
    loc = error.get("loc", ())
    position = loc[-1] if loc and isinstance(loc[-1], int) else None
    if position is None or not isinstance(document, str):
        return f"the body is not valid JSON: {reason}"
    line = document.count("\n", 0, position) + 1
    column = position - (document.rfind("\n", 0, position) + 1) + 1
    return f"the body is not valid JSON: {reason} at line {line}, column {column}"


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal server error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
