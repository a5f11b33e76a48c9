"""FastAPI dependencies: the app's services, rate limiting and API-key checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rxcheck.api.auth import KeyRing, bearer_token
from rxcheck.api.errors import ApiError
from rxcheck.api.jobs import Audits
from rxcheck.api.models import RuleInfo
from rxcheck.api.ratelimit import RateLimiter
from rxcheck.api.settings import Settings
from rxcheck.api.storage import Storage
from rxcheck.api.verdicts import VerdictService


@dataclass
class Services:
    """Everything a request may need; built by `create_app`, live between startup and shutdown."""

    settings: Settings
    keys: KeyRing
    ip_limiter: RateLimiter
    key_limiter: RateLimiter
    crawl_ip_limiter: RateLimiter
    crawl_key_limiter: RateLimiter
    rules_version: str
    rules: list[RuleInfo]
    store: Storage | None = None
    verdicts: VerdictService | None = None
    audits: Audits | None = None


async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_store(services: Annotated[Services, Depends(get_services)]) -> Storage:
    if services.store is None:
        raise ApiError(503, "unavailable", "the server is starting or stopping")
    return services.store


async def get_verdicts(services: Annotated[Services, Depends(get_services)]) -> VerdictService:
    if services.verdicts is None:
        raise ApiError(503, "unavailable", "the server is starting or stopping")
    return services.verdicts


async def get_audits(services: Annotated[Services, Depends(get_services)]) -> Audits:
    if services.audits is None:
        raise ApiError(503, "unavailable", "the server is starting or stopping")
    return services.audits


def _bucket(services: Services, authorization: str | None, address: str | None) -> tuple[str, bool]:
    """The rate-limit bucket a request is charged to: its API key's when it carries a valid key (`authorization`
    is its `Authorization` header), else its address's. Returns (bucket, keyed)."""
    key = services.keys.identify(bearer_token(authorization))
    if key is not None:
        return "key:" + key, True
    return "ip:" + (address or "unknown"), False


def _charge(limiter: RateLimiter, bucket: str, what: str) -> None:
    wait = limiter.take(bucket)
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise ApiError(429, "rate_limited", f"too many {what}; retry in {retry} s", headers={"Retry-After": str(retry)})


def charge_request(services: Services, *, authorization: str | None, address: str | None) -> None:
    """Charge a request to its key's or its address's bucket (a 429 `ApiError` when empty)."""
    bucket, keyed = _bucket(services, authorization, address)
    _charge(services.key_limiter if keyed else services.ip_limiter, bucket, "requests")


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def rate_limit(request: Request, services: Annotated[Services, Depends(get_services)]) -> None:
    """Charge the request to its key's or its address's bucket (429 when empty)."""
    charge_request(services, authorization=request.headers.get("authorization"), address=_address(request))


CrawlCharge = Callable[[], None]


async def crawl_charge(request: Request, services: Annotated[Services, Depends(get_services)]) -> CrawlCharge:
    """What to call before a verdict crawls: charges the caller's crawl bucket, or raises a 429 `ApiError`."""
    bucket, keyed = _bucket(services, request.headers.get("authorization"), _address(request))
    limiter = services.crawl_key_limiter if keyed else services.crawl_ip_limiter
    return lambda: _charge(limiter, bucket, "crawls (cache misses or fresh=true)")


async def json_body(request: Request) -> None:
    """415 unless the request says its body is JSON (`application/json` or `application/<name>+json`)."""
    given = request.headers.get("content-type", "")
    media = given.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    shown = repr(given[:80]) if given else "none"
    message = f"the body must be JSON, sent with 'Content-Type: application/json' (got {shown})"
    raise ApiError(415, "unsupported_media_type", message)


_bearer = HTTPBearer(auto_error=False, description="An API key from `RXCHECK_API_KEYS`.")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def require_key(
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The fingerprint of the caller's API key; 401 without a valid one."""
    if credentials is None:
        raise _unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    key = services.keys.identify(credentials.credentials)
    if key is None:
        raise _unauthorized("the API key is not valid")
    return key


async def verdict_access(request: Request, services: Annotated[Services, Depends(get_services)]) -> None:
    """Verdicts are open unless the `verdict_requires_key` setting is on."""
    if not services.settings.verdict_requires_key:
        return
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise _unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    if services.keys.identify(token) is None:
        raise _unauthorized("the API key is not valid")
